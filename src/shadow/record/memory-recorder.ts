import type { ComparisonRecord, DropReason, EndpointSnapshot, MismatchSample, SecondaryRecord, ShadowRecorder, SnapshotFilter } from './shadow-record.js';
import { StatsAggregate } from './stats-aggregate.js';

export interface MemoryRecorderOptions {
  /** Mismatch samples kept per route + endpoint; older ones are discarded (default 50). */
  readonly samplesPerEndpoint?: number;
}

/** The recorder used when no database is configured: results live as long as the process. */
export class MemoryRecorder implements ShadowRecorder {
  private readonly agg: StatsAggregate;

  constructor(options: MemoryRecorderOptions = {}) {
    this.agg = new StatsAggregate(options.samplesPerEndpoint ?? 50);
  }

  recordComparison(r: ComparisonRecord, count = 1): void {
    this.agg.addComparison(r, count);
  }

  recordSecondary(r: SecondaryRecord): void {
    this.agg.addSecondary(r);
  }

  recordDropped(route: string, endpoint: string, roles: ComparisonRecord['roles'], reason: DropReason): void {
    this.agg.addDropped(route, endpoint, roles, reason);
  }

  async snapshot(filter: SnapshotFilter = {}): Promise<EndpointSnapshot[]> {
    return this.agg.snapshot(filter.route);
  }

  async samples(route: string, endpoint: string, limit = 20): Promise<MismatchSample[]> {
    const e = this.agg.endpoints.get(`${route}\u0000${endpoint}`);
    return e ? e.samples.slice(-limit).reverse() : [];
  }

  async close(): Promise<void> {}
}
