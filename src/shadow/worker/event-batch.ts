import type { ComparisonRecord } from '../record/shadow-record.js';
import type { ComparisonResult, GcKind } from '../shadow-metrics.js';
import type { WorkerEvent } from './worker-protocol.js';

const GC_KINDS: readonly GcKind[] = ['minor', 'major', 'incremental', 'weakcb'];

type MatchedRun = { t: 'matched'; route: string; endpoint: string; roles: ComparisonRecord['roles']; at: number; n: number };

/**
 * The worker's events on their way to the host, in order. Most copies match, and the host would
 * otherwise clone and apply an object per copy: consecutive matches of one route and endpoint
 * travel as one `matched` event with a count, and comparison metrics as one count per route and
 * result per batch (counters, so their order does not matter).
 */
export class EventBatch {
  private events: WorkerEvent[] = [];
  private run: MatchedRun | null = null;
  private readonly results = new Map<string, Map<ComparisonResult, number>>();
  /** The worker's garbage collections since the last take, per kind: count and pause seconds. */
  private readonly gcs: Partial<Record<GcKind, { n: number; seconds: number }>> = {};
  private pending = 0;

  /** Events and counts waiting. */
  get size(): number {
    return this.pending;
  }

  comparison(r: ComparisonRecord): void {
    this.pending++;
    if (r.outcome.kind !== 'compared' || r.outcome.diffs.length > 0 || r.sample !== null) {
      this.run = null;
      this.events.push({ t: 'comparison', r });
      return;
    }
    const run = this.run;
    if (run !== null && run.route === r.route && run.endpoint === r.endpoint && run.roles.primary === r.roles.primary && run.roles.candidate === r.roles.candidate) {
      run.n++;
      run.at = r.at;
      return;
    }
    this.run = { t: 'matched', route: r.route, endpoint: r.endpoint, roles: r.roles, at: r.at, n: 1 };
    this.events.push(this.run);
  }

  metricComparison(route: string, result: ComparisonResult): void {
    this.pending++;
    let byResult = this.results.get(route);
    if (byResult === undefined) this.results.set(route, (byResult = new Map()));
    byResult.set(result, (byResult.get(result) ?? 0) + 1);
  }

  gc(kind: GcKind, n: number, seconds: number): void {
    this.pending++;
    const tally = this.gcs[kind];
    if (tally === undefined) this.gcs[kind] = { n, seconds };
    else {
      tally.n += n;
      tally.seconds += seconds;
    }
  }

  /** Any other event: kept in order, and it ends the run of matches before it. */
  push(e: WorkerEvent): void {
    this.pending++;
    this.run = null;
    this.events.push(e);
  }

  /** Everything waiting, the comparison and GC counts last; empties the batch. */
  take(): WorkerEvent[] {
    const out = this.events;
    for (const [route, byResult] of this.results) for (const [result, n] of byResult) out.push({ t: 'metric-comparison', route, result, n });
    for (const kind of GC_KINDS) {
      const tally = this.gcs[kind];
      if (tally === undefined) continue;
      out.push({ t: 'metric-gc', kind, n: tally.n, seconds: tally.seconds });
      delete this.gcs[kind];
    }
    this.events = [];
    this.run = null;
    this.results.clear();
    this.pending = 0;
    return out;
  }
}
