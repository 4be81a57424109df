import type { LoadRun } from './load-run.js';
import { pairedSliceRatios } from './load-run.js';
import type { PeerStats } from './peer-stats.js';
import { counterDeltas, describeSide, newSideStats } from './peer-stats.js';
import { forkedUpstream, interleavedHalfLoad, loadOnce } from './proxy-bench-harness.js';
import type { ForkedPeer } from './proxy-bench-ipc.js';
import { forkPeer } from './proxy-bench-ipc.js';
import { pacedRaw } from './paced-load.js';

/**
 * The paced rate is the static maximum divided by this (default 4). BENCH_SHADOW_RATE_DIVISOR=8
 * measures at half that load, where the shadow-off proxy's loop is ~40% busy instead of ~60%.
 */
const RATE_DIVISOR = Number(process.env.BENCH_SHADOW_RATE_DIVISOR ?? 4);
/**
 * Seconds of paced load per side, in 1 s slices (BENCH_SHADOW_SECONDS, default 20). A p99 from 5 s
 * of load moved the A/A ratio (BENCH_SHADOW_AA below) between 0.90 and 1.14 on an idle machine;
 * from 20 s, between 0.98 and 1.07.
 */
const SECONDS = Number(process.env.BENCH_SHADOW_SECONDS ?? 20);
/**
 * BENCH_SHADOW_AA=1 runs the same measurement with shadowing off on both peers: the ratio of two
 * identical peers, i.e. how far this machine's noise alone moves the ratio.
 */
const AA = process.env.BENCH_SHADOW_AA === '1';

/**
 * How the candidate process is scheduled. `idle` (the goal's runs): SCHED_IDLE, so it uses only CPU
 * time nothing else wants, as a new service on its own host would take none from the proxy.
 * `shared`: like every other process, so on 2 cores its work per copy competes with the load
 * generator, the upstream and the proxy; printed beside the goal for comparison.
 */
export type CandidateScheduling = 'idle' | 'shared';

/**
 * What answers the copies. `canned` (the goal's run): the upstream's bytes from a net socket
 * (startCannedUpstream), 18-21 µs of CPU per copy here. `node-http`: a node:http server like the
 * upstream, 31-57 µs per copy: the same answer, with more of the shared cores taken by a process
 * that stands for a service on another host.
 */
export type CandidateServer = 'canned' | 'node-http';

export interface CandidateSetup {
  readonly server: CandidateServer;
  readonly scheduling: CandidateScheduling;
}

/**
 * The shadow runs, the goal's first: a canned candidate under SCHED_IDLE, then a node:http one under
 * SCHED_IDLE and one scheduled like the rest, for comparison. BENCH_SHADOW_CANDIDATE=idle|shared and
 * BENCH_SHADOW_CANDIDATE_SERVER=canned|node-http run one setup (the unset one as in the goal's). An
 * A/A run has no candidate, so it runs once.
 */
export function candidateSetups(env: NodeJS.ProcessEnv = process.env): CandidateSetup[] {
  if (env.BENCH_SHADOW_AA === '1') return [{ server: 'node-http', scheduling: 'shared' }];
  const scheduling = env.BENCH_SHADOW_CANDIDATE ?? '';
  const server = env.BENCH_SHADOW_CANDIDATE_SERVER ?? '';
  if (scheduling !== '' && scheduling !== 'idle' && scheduling !== 'shared') throw new Error(`BENCH_SHADOW_CANDIDATE must be idle or shared, got ${JSON.stringify(scheduling)}`);
  if (server !== '' && server !== 'canned' && server !== 'node-http') throw new Error(`BENCH_SHADOW_CANDIDATE_SERVER must be canned or node-http, got ${JSON.stringify(server)}`);
  if (scheduling === '' && server === '') {
    return [
      { server: 'canned', scheduling: 'idle' },
      { server: 'node-http', scheduling: 'idle' },
      { server: 'node-http', scheduling: 'shared' },
    ];
  }
  return [{ server: server === '' ? 'canned' : server, scheduling: scheduling === '' ? 'idle' : scheduling }];
}

/** A ficus peer's stats answer (see ficus-bench-peer.ts). */
const readPeer = async (peer: ForkedPeer) => (await peer.stats(30_000)) as { ficus: PeerStats; candidate: PeerStats | null };

/**
 * Issue 5's goal: shadow on vs off at the same paced rate (a quarter of the static maximum, so the
 * doubled upstream traffic has headroom), interleaved in 1 s slices like the half-load runs. After
 * each slice both peers report their own CPU, event-loop delay, GC pauses and shadow counters (the
 * shadow peer once that slice's copies are compared), so the lines under the ratio show where the
 * time went and that every GET was copied and compared, none dropped by load shedding.
 * `staticMax`: the static peer's maximum req/s from the main bench; null measures it here.
 */
export async function shadowSameRate(ficusEntry: URL, staticMax: number | null, candidate: CandidateSetup): Promise<void> {
  const upstream = await forkedUpstream();
  const off = await forkPeer(ficusEntry, ['static', upstream.url]);
  const on = await forkPeer(ficusEntry, [AA ? 'static' : 'shadow', upstream.url, candidate.scheduling, candidate.server]);
  try {
    // warm both up (JIT, connection pools) as the harness does before every measured run
    for (const peer of [off, on]) await loadOnce(peer.url, { durationSec: 1, connections: 50, rate: null });
    const max = staticMax ?? (await loadOnce(off.url, { durationSec: 5, connections: 50, rate: null })).reqPerSec;
    const rate = Math.max(100, Math.floor(max / RATE_DIVISOR));
    // Then one unmeasured slice each at the paced rate. The first slice after a max-load warm-up was
    // often the worst of a run for whichever peer ran it (p50 up to 200 ms while its loop sat at
    // ~99% busy on ~60% CPU, copies shed, the candidate idle: not shadow work but the switch from
    // saturation to pacing), and the ABBA order always gives that slice to the shadow peer.
    for (const peer of [on, off]) await pacedRaw(peer.url, { rate, durationSec: 1, connections: 50 });
    // The shadow peer answers once the warm-up's queued copies are compared: none spill into a slice.
    const sides = { target: newSideStats(), direct: newSideStats() };
    sides.target.countersBefore = (await readPeer(on)).ficus.counters;
    sides.direct.countersBefore = (await readPeer(off)).ficus.counters;
    const { target, direct, slices } = await interleavedHalfLoad(on.url, off.url, { rate, durationSec: SECONDS, connections: 50 }, async (side) => {
      const [loaded, other] = side === 'target' ? [on, off] : [off, on];
      const r = await readPeer(loaded);
      await readPeer(other); // starts the idle peer's next window too
      sides[side].proxy.push(r.ficus);
      if (r.candidate !== null) sides[side].candidate.push(r.candidate);
    });
    sides.target.requests = target.ok;
    sides.direct.requests = direct.ok;
    if (AA) console.log('A/A run (BENCH_SHADOW_AA=1): shadowing is off on both peers; the ratio shows the noise alone');
    const server = candidate.server === 'canned' ? 'canned candidate' : 'node:http candidate';
    const label = AA ? 'A/A, no candidate' : `${server}, ${candidate.scheduling === 'idle' ? 'SCHED_IDLE' : 'scheduled like the rest'}`;
    // Both measures on the goal's line: the pooled p99 of every sample, and the median over the
    // paired 1 s slices, which one stall of the whole machine cannot move by more than one pair.
    const paired = pairedSliceRatios(slices.target, slices.direct);
    console.log(`| shadow 100% client p99 ≤ 1.1× shadow off (same rate, ${rate} req/s = static max / ${RATE_DIVISOR}; ${label}) | pooled ${(target.p99Ms / direct.p99Ms).toFixed(2)}× (${target.p99Ms.toFixed(2)} vs ${direct.p99Ms.toFixed(2)} ms); slice by slice ${paired.median.toFixed(2)}× |`);
    console.log(`  slice by slice (${paired.pairs} pairs of 1 s): p99 on / off median ${paired.median.toFixed(2)}×, middle half ${paired.q1.toFixed(2)}–${paired.q3.toFixed(2)}×`);
    const spread = (r: LoadRun) => [r.p50Ms, r.p90Ms, r.p99Ms, r.p999Ms].map((v) => v.toFixed(2)).join(' / ');
    console.log(`  client latency p50 / p90 / p99 / p99.9 ms: shadow on ${spread(target)}; shadow off ${spread(direct)}`);
    console.log(describeSide('shadow on ', sides.target));
    console.log(describeSide('shadow off', sides.direct));
    const copied = counterDeltas(sides.target);
    const compared = (copied['comparisons match'] ?? 0) + (copied['comparisons mismatch'] ?? 0);
    const answered = target.ok + target.non2xx;
    if (!AA && (compared !== answered || Object.keys(copied).some((k) => k.startsWith('dropped')))) {
      console.log(`  ⚠ ${compared} of ${answered} GETs were compared: this run does not measure shadow at 100%`);
    }
  } finally {
    await on.close();
    await off.close();
    await upstream.close();
  }
}
