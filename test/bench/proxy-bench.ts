import type { BenchTarget } from './proxy-bench-harness.js';
import { httpProxyTarget, runProxyBench } from './proxy-bench-harness.js';
import { startNginx } from './nginx-peer.js';
import { forkPeer } from './proxy-bench-ipc.js';

/**
 * `npm run bench:proxy` — direct vs. the peers a user would compare ficus with. Add a target by
 * appending one `{ name, start(upstreamUrl) → { url, close } }` to the list.
 */
const nginxTarget: BenchTarget = { name: 'nginx', start: (upstreamUrl) => startNginx(upstreamUrl) };

const ficusEntry = new URL('./ficus-bench-peer.js', import.meta.url);
const ficus = (variant: 'static' | 'flag' | 'shadow', name: string): BenchTarget => ({ name, start: (upstreamUrl) => forkPeer(ficusEntry, [variant, upstreamUrl]) });

const PROXY_BENCH_TARGETS: BenchTarget[] = [
  ficus('static', 'ficus'),
  ficus('flag', 'ficus (flag route)'),
  ficus('shadow', 'ficus (shadow 100%)'),
  httpProxyTarget,
  nginxTarget,
];

await runProxyBench(PROXY_BENCH_TARGETS);
