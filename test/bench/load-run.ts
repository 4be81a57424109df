/** What one load run measured; both load generators (autocannon, paced) report this shape. */
export interface LoadRun {
  /** Requests per second asked for, or null for as fast as possible. */
  readonly rate: number | null;
  /** 2xx responses per second. */
  readonly reqPerSec: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly ok: number;
  readonly errors: number;
  readonly non2xx: number;
}

/** Percentile by nearest rank over ascending samples; NaN when there are none. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  // The epsilon keeps binary fractions from pushing an exact rank up by one (99.9% of 1000 is 999, not 1000).
  const rank = Math.ceil((p / 100) * sorted.length - 1e-9);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function summarize(rate: number | null, samplesMs: readonly number[], elapsedSec: number, errors: number, non2xx: number): LoadRun {
  const sorted = Float64Array.from(samplesMs).sort();
  return {
    rate,
    reqPerSec: samplesMs.length / elapsedSec,
    p50Ms: percentile(sorted, 50),
    p90Ms: percentile(sorted, 90),
    p99Ms: percentile(sorted, 99),
    p999Ms: percentile(sorted, 99.9),
    ok: samplesMs.length,
    errors,
    non2xx,
  };
}

/** Raw samples of one run, so runs done in slices can be pooled before taking percentiles. */
export interface RawRun {
  readonly rate: number | null;
  readonly samplesMs: readonly number[];
  readonly elapsedSec: number;
  readonly errors: number;
  readonly non2xx: number;
}

export function summarizeRuns(runs: readonly RawRun[]): LoadRun {
  if (runs.length === 0) throw new RangeError('summarizeRuns: no runs to summarize');
  const samples = runs.flatMap((r) => r.samplesMs);
  const sum = (f: (r: RawRun) => number) => runs.reduce((acc, r) => acc + f(r), 0);
  return summarize(runs[0].rate, samples, sum((r) => r.elapsedSec), sum((r) => r.errors), sum((r) => r.non2xx));
}

/**
 * Slice by slice, the target's p99 over the direct's, for runs interleaved in pairs (slice i of
 * each side ran back to back): the median ratio and the middle half of them. One stall of the
 * whole machine during a slice moves the p99 of all samples pooled (a few bad slices can hold most
 * of the slowest 1%), but only that one pair's ratio here.
 */
export function pairedSliceRatios(target: readonly RawRun[], direct: readonly RawRun[], p = 99): { median: number; q1: number; q3: number; pairs: number } {
  const pairs = Math.min(target.length, direct.length);
  if (pairs === 0) throw new RangeError('pairedSliceRatios: no slices to pair');
  const tail = (r: RawRun) => percentile(Float64Array.from(r.samplesMs).sort(), p);
  const ratios = Float64Array.from({ length: pairs }, (_, i) => tail(target[i]) / tail(direct[i])).sort();
  return { median: percentile(ratios, 50), q1: percentile(ratios, 25), q3: percentile(ratios, 75), pairs };
}
