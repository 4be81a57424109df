import { Counter, Gauge } from '../observability/metrics.js';
import type { Registry } from '../observability/metrics.js';
import type { Tally } from '../observability/tallied-counter.js';
import { TalliedCounter } from '../observability/tallied-counter.js';
import type { DropReason } from './record/shadow-record.js';

export type ComparisonResult = 'match' | 'mismatch' | 'noise-only' | 'error' | 'skipped';

/** Shadow metrics on the registry the caller owns (never prom-client's global one). */
export interface ShadowMetrics {
  /** `n` comparisons with this result (default 1). */
  comparison(route: string, result: ComparisonResult, n?: number): void;
  dropped(route: string, reason: DropReason): void;
  queueDepth(route: string, depth: number): void;
}

export function createShadowMetrics(registry: Registry): ShadowMetrics {
  // One comparison per copy: tallied, not hashed per increment.
  const comparisons = new TalliedCounter({
    name: 'ficus_shadow_comparisons_total',
    help: 'Shadow copies by outcome: match, mismatch, noise-only (every difference is a learned noise field), error (candidate failed), skipped (too large)',
    labelNames: ['route', 'result'],
    registry,
  });
  const byRoute = new Map<string, Map<ComparisonResult, Tally>>();
  const comparisonCell = (route: string, result: ComparisonResult): Tally => {
    let cells = byRoute.get(route);
    if (cells === undefined) byRoute.set(route, (cells = new Map()));
    let cell = cells.get(result);
    if (cell === undefined) cells.set(result, (cell = comparisons.cell({ route, result })));
    return cell;
  };
  const dropped = new Counter({
    name: 'ficus_shadow_dropped_total',
    help: 'Shadow copies never sent: reason queue-full (the route\'s candidate queue was full) or overload (shed while the event loop was saturated)',
    labelNames: ['route', 'reason'],
    registers: [registry],
  });
  const depth = new Gauge({
    name: 'ficus_shadow_queue_depth',
    help: 'Shadow copies waiting for a candidate slot',
    labelNames: ['route'],
    registers: [registry],
  });
  return {
    comparison: (route, result, n = 1) => {
      comparisonCell(route, result).n += n;
    },
    dropped: (route, reason) => dropped.inc({ route, reason }),
    queueDepth: (route, d) => depth.set({ route }, d),
  };
}

/** Metrics that cost nothing, when no registry is given. */
export const noShadowMetrics: ShadowMetrics = { comparison: () => {}, dropped: () => {}, queueDepth: () => {} };
