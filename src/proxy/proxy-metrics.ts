import type { Registry } from 'prom-client';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Tally } from '../observability/tallied-counter.js';
import { TalliedCounter } from '../observability/tallied-counter.js';

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/** Counter and histogram children for one (route, upstream) pair, resolved once and reused. */
export interface PairStats {
  /** `ficus_requests_total` cells by status class (see statusClassIndex): add with `.n++`. */
  readonly byClass: readonly Tally[];
  readonly duration: Histogram.Internal<string>;
}

/**
 * The proxy's Prometheus metrics. Stable names with units; label children are cached per
 * (route, upstream) so the hot path does two map lookups. The request counter is tallied (no label
 * hashing per request); the duration histogram child still hashes its labels per observation.
 */
export class ProxyMetrics {
  readonly requests: TalliedCounter;
  readonly duration: Histogram;
  readonly inFlight: Gauge;
  readonly upstreamErrors: Counter;
  readonly reloads: Counter;
  readonly rulesLoadedAt: Gauge;
  private readonly pairs = new Map<string, Map<string, PairStats>>();

  constructor(registry: Registry) {
    this.requests = new TalliedCounter({ name: 'ficus_requests_total', help: 'Requests answered, by route, upstream and status class', labelNames: ['route', 'upstream', 'status_class'], registry });
    this.duration = new Histogram({
      name: 'ficus_upstream_duration_seconds',
      help: 'Time from receiving the request to the end of the upstream response',
      labelNames: ['route', 'upstream'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    this.inFlight = new Gauge({ name: 'ficus_requests_in_flight', help: 'Requests being proxied now', registers: [registry] });
    this.upstreamErrors = new Counter({ name: 'ficus_upstream_errors_total', help: 'Failed upstream exchanges by outcome', labelNames: ['upstream', 'outcome'], registers: [registry] });
    this.reloads = new Counter({ name: 'ficus_rules_reloads_total', help: 'Rules reloads by result', labelNames: ['result'], registers: [registry] });
    this.rulesLoadedAt = new Gauge({ name: 'ficus_rules_loaded_timestamp_seconds', help: 'When the active rules were loaded', registers: [registry] });
  }

  pair(route: string, upstream: string): PairStats {
    let byUpstream = this.pairs.get(route);
    if (byUpstream === undefined) this.pairs.set(route, (byUpstream = new Map()));
    let stats = byUpstream.get(upstream);
    if (stats === undefined) {
      stats = {
        byClass: STATUS_CLASSES.map((c) => this.requests.cell({ route, upstream, status_class: c })),
        duration: this.duration.labels(route, upstream),
      };
      byUpstream.set(upstream, stats);
    }
    return stats;
  }
}

export function statusClassIndex(status: number): number {
  const i = Math.floor(status / 100) - 1;
  return i < 0 ? 0 : i > 4 ? 4 : i;
}
