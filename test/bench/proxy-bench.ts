import type { BenchTarget } from './proxy-bench-harness.js';
import { httpProxyTarget, runProxyBench } from './proxy-bench-harness.js';
import { startNginx } from './nginx-peer.js';

/**
 * `npm run bench:proxy` — direct vs. the peers a user would compare ficus with. Add a target by
 * appending one `{ name, start(upstreamUrl) → { url, close } }` to the list.
 */
const nginxTarget: BenchTarget = { name: 'nginx', start: (upstreamUrl) => startNginx(upstreamUrl) };

const PROXY_BENCH_TARGETS: BenchTarget[] = [httpProxyTarget, nginxTarget];

await runProxyBench(PROXY_BENCH_TARGETS);
