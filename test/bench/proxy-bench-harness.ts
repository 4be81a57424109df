import autocannon from 'autocannon';
import type { Result } from 'autocannon';
import type { LoadRun, RawRun } from './load-run.js';
import { summarize, summarizeRuns } from './load-run.js';
import { pacedLoad, pacedRaw } from './paced-load.js';
import { forkPeer } from './proxy-bench-ipc.js';

export type { LoadRun } from './load-run.js';

/**
 * The proxy benchmark: one upstream serving 1 KiB of JSON, loaded directly and through each proxy
 * target, on loopback only. For every target:
 *   1. warm up (JIT, connection pools);
 *   2. maximum load: `connections` closed-loop connections for `durationSec` → req/s, p50, p99;
 *   3. half load: half the maximum measured for that target, for the target and for the upstream
 *      directly at the same rate → the p99 latency the proxy adds at a realistic load. By default
 *      the rate is paced evenly (paced-load.ts) and the two sides run interleaved in slices
 *      (target, direct, direct, target, ...), so background load on a shared machine falls on both
 *      alike. `halfLoad: 'autocannon'` uses autocannon's `overallRate`, one run after the other;
 *      it spends each second's budget in a burst at the start of the second (see paced-load.ts).
 * The upstream and every Node peer run in their own processes (see proxy-bench-ipc.ts) so the load
 * generator never shares their event loop. Latencies are taken from each response's own timing
 * (autocannon's histogram has 1 ms resolution, too coarse for loopback), 2xx responses only.
 *
 * To add a target, write one function and put it in the list given to runProxyBench:
 *   { name: 'ficus', start: async (upstreamUrl) => ({ url, close }) }
 */
export interface StartedTarget {
  /** Base URL to load, e.g. http://127.0.0.1:41234 */
  readonly url: string;
  close(): Promise<void>;
}

/** A target that cannot run on this machine (e.g. nginx not installed); printed, not failed. */
export interface SkippedTarget {
  readonly skipped: string;
}

export interface BenchTarget {
  readonly name: string;
  /** Starts the target in front of `upstreamUrl`. */
  start(upstreamUrl: string): Promise<StartedTarget | SkippedTarget>;
}

export interface BenchOptions {
  /** Seconds per measured run (default 5). */
  readonly durationSec?: number;
  /** Seconds of unmeasured load before the runs of each target (default 1). */
  readonly warmupSec?: number;
  /** Concurrent connections (default 50). */
  readonly connections?: number;
  /** Starts the upstream; default: the 1 KiB JSON upstream in a child process. */
  readonly startUpstream?: () => Promise<StartedTarget>;
  readonly log?: (line: string) => void;
  /** Load generator for the half-load runs (default 'paced'). */
  readonly halfLoad?: 'paced' | 'autocannon';
}

export interface HalfLoad {
  readonly rate: number;
  readonly target: LoadRun;
  /** The upstream alone at the same rate (for `direct` itself this is the same run). */
  readonly direct: LoadRun;
  readonly addedP99Ms: number;
}

export interface TargetResult {
  readonly name: string;
  readonly skipped: string | null;
  readonly max: LoadRun | null;
  readonly half: HalfLoad | null;
}

export interface BenchReport {
  /** `direct` first, then the targets in the order given. */
  readonly results: readonly TargetResult[];
  /** Markdown: `| target | req/s | p50 ms | p99 ms | vs direct |` */
  readonly maxTable: string;
  /** Markdown: p99 at half of each target's maximum, against direct at the same rate. */
  readonly halfTable: string;
}

/** One autocannon run against `url`, latencies collected per 2xx response. */
export async function loadOnce(url: string, o: { durationSec: number; connections: number; rate: number | null }): Promise<LoadRun> {
  const samples: number[] = [];
  const result = await new Promise<Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections: o.connections,
        duration: o.durationSec,
        // autocannon's coordinated-omission correction assumes a 1 ms send interval whatever the
        // rate (run.js: Math.ceil(1 / rate)), which would inflate the tail we want to measure.
        ...(o.rate === null ? {} : { overallRate: o.rate, ignoreCoordinatedOmission: true }),
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    instance.on('response', (_client, statusCode, _bytes, ms) => {
      if (statusCode >= 200 && statusCode < 300) samples.push(ms);
    });
  });
  return summarize(o.rate, samples, result.duration, result.errors, result.non2xx);
}

const upstreamEntry = new URL('./proxy-bench-peer-main.js', import.meta.url);

export const forkedUpstream = (): Promise<StartedTarget> => forkPeer(upstreamEntry, ['upstream']);

/** The bare http-proxy peer (keep-alive agent) in its own process. */
export const httpProxyTarget: BenchTarget = {
  name: 'http-proxy',
  start: (upstreamUrl) => forkPeer(upstreamEntry, ['http-proxy', upstreamUrl]),
};

const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : '–');

export function formatMaxTable(results: readonly TargetResult[]): string {
  const direct = results.find((r) => r.name === 'direct')?.max ?? null;
  const rows = results.map((r) => {
    if (r.max === null) return `| ${r.name} | skipped | – | – | – |`;
    const ratio = direct ? `${fmt(r.max.reqPerSec / direct.reqPerSec)}×` : '–';
    return `| ${r.name} | ${Math.round(r.max.reqPerSec)} | ${fmt(r.max.p50Ms)} | ${fmt(r.max.p99Ms)} | ${ratio} |`;
  });
  return ['| target | req/s | p50 ms | p99 ms | vs direct |', '| --- | ---: | ---: | ---: | ---: |', ...rows].join('\n');
}

export function formatHalfTable(results: readonly TargetResult[], generator: 'paced' | 'autocannon' = 'paced'): string {
  const rows = results.map((r) => {
    if (r.half === null) return `| ${r.name} | skipped | – | – | – |`;
    const h = r.half;
    return `| ${r.name} | ${h.rate} | ${fmt(h.target.p99Ms)} | ${fmt(h.direct.p99Ms)} | ${fmt(h.addedP99Ms)} |`;
  });
  const rateHeader = generator === 'paced' ? 'paced req/s (half of its max)' : 'autocannon overallRate (half of its max)';
  return [`| target | ${rateHeader} | p99 ms | direct p99 ms at that rate | added p99 ms |`, '| --- | ---: | ---: | ---: | ---: |', ...rows].join('\n');
}

function describeRun(name: string, run: LoadRun): string {
  const what = run.rate === null ? 'max load' : `${run.rate} req/s`;
  const notes: string[] = [];
  if (run.errors + run.non2xx > 0) notes.push(`${run.errors} errors, ${run.non2xx} non-2xx`);
  // A shortfall means the generator or the target could not keep up; the p99 then says so too.
  if (run.rate !== null && run.reqPerSec < 0.95 * run.rate) notes.push(`only ${Math.round((100 * run.reqPerSec) / run.rate)}% of the asked rate`);
  const trouble = notes.length > 0 ? `  ⚠ ${notes.join('; ')}` : '';
  return `  ${name.padEnd(12)} ${what.padEnd(12)} ${Math.round(run.reqPerSec).toString().padStart(7)} req/s  p50 ${fmt(run.p50Ms)} ms  p99 ${fmt(run.p99Ms)} ms${trouble}`;
}

/**
 * Paced runs of `targetUrl` and `directUrl` at the same rate, in ~1 s slices ordered ABBA ABBA ...
 * so a drift in background load cancels out; each side's slices are pooled before percentiles.
 */
export async function interleavedHalfLoad(
  targetUrl: string,
  directUrl: string,
  o: { rate: number; durationSec: number; connections: number },
  /** Runs after each slice, before the next starts (e.g. to read the peers' own counters). */
  afterSlice: (side: 'target' | 'direct') => Promise<void> = async () => {},
): Promise<{ target: LoadRun; direct: LoadRun; slices: { target: RawRun[]; direct: RawRun[] } }> {
  const slices = Math.max(1, Math.round(o.durationSec));
  const slice = { rate: o.rate, durationSec: o.durationSec / slices, connections: o.connections };
  const target: RawRun[] = [];
  const direct: RawRun[] = [];
  for (let i = 0; i < slices; i++) {
    const targetFirst = i % 2 === 0;
    for (const side of targetFirst ? (['target', 'direct'] as const) : (['direct', 'target'] as const)) {
      if (side === 'target') target.push(await pacedRaw(targetUrl, slice));
      else direct.push(await pacedRaw(directUrl, slice));
      await afterSlice(side);
    }
  }
  return { target: summarizeRuns(target), direct: summarizeRuns(direct), slices: { target, direct } };
}

export async function runProxyBench(targets: readonly BenchTarget[], options: BenchOptions = {}): Promise<BenchReport> {
  const durationSec = options.durationSec ?? 5;
  const warmupSec = options.warmupSec ?? 1;
  const connections = options.connections ?? 50;
  const log = options.log ?? ((line: string) => console.log(line));
  const upstream = await (options.startUpstream ?? forkedUpstream)();
  const results: TargetResult[] = [];
  const halfLoad = options.halfLoad ?? 'paced';
  const measure = async (name: string, url: string, rate: number | null) => {
    const run = rate !== null && halfLoad === 'paced' ? await pacedLoad(url, { durationSec, connections, rate }) : await loadOnce(url, { durationSec, connections, rate });
    log(describeRun(name, run));
    return run;
  };
  try {
    log(`proxy bench: upstream ${upstream.url} (1 KiB JSON), ${connections} connections, ${durationSec} s per run, half-load generator ${halfLoad}, loopback only`);
    // 1. the baseline: the upstream with nothing in front.
    await loadOnce(upstream.url, { durationSec: warmupSec, connections, rate: null });
    const directMax = await measure('direct', upstream.url, null);
    const directRate = Math.max(1, Math.floor(directMax.reqPerSec / 2));
    const directHalf = await measure('direct', upstream.url, directRate);
    results.push({ name: 'direct', skipped: null, max: directMax, half: { rate: directRate, target: directHalf, direct: directHalf, addedP99Ms: 0 } });
    // 2. each target: maximum, then half of its own maximum, then direct at that same rate.
    for (const target of targets) {
      const started = await target.start(upstream.url);
      if ('skipped' in started) {
        log(`  ${target.name.padEnd(12)} skipped: ${started.skipped}`);
        results.push({ name: target.name, skipped: started.skipped, max: null, half: null });
        continue;
      }
      try {
        await loadOnce(started.url, { durationSec: warmupSec, connections, rate: null });
        const max = await measure(target.name, started.url, null);
        const rate = Math.max(1, Math.floor(max.reqPerSec / 2));
        let atRate: LoadRun;
        let direct: LoadRun;
        if (halfLoad === 'paced') {
          ({ target: atRate, direct } = await interleavedHalfLoad(started.url, upstream.url, { rate, durationSec, connections }));
          log(describeRun(target.name, atRate));
          log(describeRun('direct', direct));
        } else {
          atRate = await measure(target.name, started.url, rate);
          direct = await measure('direct', upstream.url, rate);
        }
        results.push({ name: target.name, skipped: null, max, half: { rate, target: atRate, direct, addedP99Ms: atRate.p99Ms - direct.p99Ms } });
      } finally {
        await started.close();
      }
    }
  } finally {
    await upstream.close();
  }
  const maxTable = formatMaxTable(results);
  const halfTable = formatHalfTable(results, halfLoad);
  log('');
  log(maxTable);
  log('');
  log(halfTable);
  return { results, maxTable, halfTable };
}
