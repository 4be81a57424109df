import type { BenchTarget } from './proxy-bench-harness.js';
import { httpProxyTarget, runProxyBench } from './proxy-bench-harness.js';
import { startNginx } from './nginx-peer.js';
import { forkPeer } from './proxy-bench-ipc.js';
import { candidateSetups, shadowSameRate } from './shadow-same-rate.js';
import { runRouteMatchBench } from './route-match-bench.js';

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

// BENCH_PART=shadow runs only the same-rate shadow comparisons (their rate from a fresh static maximum).
if (process.env.BENCH_PART === 'shadow') {
  for (const candidate of candidateSetups()) await shadowSameRate(ficusEntry, null, candidate);
  process.exit(0);
}

const report = await runProxyBench(PROXY_BENCH_TARGETS);

// The goals, as ratios between targets measured in this same run.
const by = (name: string) => report.results.find((r) => r.name === name);
const ratio = (a: string, b: string, pick: (r: NonNullable<ReturnType<typeof by>>) => number | undefined) => {
  const x = by(a);
  const y = by(b);
  const vx = x ? pick(x) : undefined;
  const vy = y ? pick(y) : undefined;
  return vx !== undefined && vy !== undefined && vy > 0 ? (vx / vy).toFixed(2) : 'n/a';
};
const reqs = (r: NonNullable<ReturnType<typeof by>>) => r.max?.reqPerSec;
const halfP99 = (r: NonNullable<ReturnType<typeof by>>) => r.half?.target.p99Ms;
console.log('');
console.log('| goal | measured |');
console.log('| --- | ---: |');
console.log(`| ficus ≥ 0.40× direct (req/s) | ${ratio('ficus', 'direct', reqs)}× |`);
console.log(`| ficus ≥ 1.3× http-proxy (req/s) | ${ratio('ficus', 'http-proxy', reqs)}× |`);
console.log(`| ficus p99 added at half load ≤ 1 ms | ${by('ficus')?.half ? by('ficus')!.half!.addedP99Ms.toFixed(2) : 'n/a'} ms |`);
console.log(`| flag route within 10% of static (req/s) | ${ratio('ficus (flag route)', 'ficus', reqs)}× |`);
// Not the shadow goal's measure: each peer at half its own maximum runs at a different rate, and the
// shadow peer's maximum is flattered by load shedding. The goal's runs follow, at one rate for both.
console.log(`| shadow 100% p99 / shadow off p99, each at half its own max (different rates; the goal's runs follow) | ${ratio('ficus (shadow 100%)', 'ficus', halfP99)}× |`);

for (const candidate of candidateSetups()) await shadowSameRate(ficusEntry, by('ficus')?.max?.reqPerSec ?? null, candidate);

const match = runRouteMatchBench();
console.log('');
console.log(`| route matching, ${match.routes} routes | matches/s | vs linear RegExp scan |`);
console.log('| --- | ---: | ---: |');
console.log(`| ficus route table | ${(match.ficusPerSec / 1e6).toFixed(2)}M | ${(match.ficusPerSec / match.regexScanPerSec).toFixed(0)}× |`);
console.log(`| ficus, with path normalization | ${(match.ficusWithNormalizePerSec / 1e6).toFixed(2)}M | ${(match.ficusWithNormalizePerSec / match.regexScanPerSec).toFixed(0)}× |`);
console.log(`| linear RegExp scan (peer) | ${(match.regexScanPerSec / 1e6).toFixed(2)}M | 1× |`);
