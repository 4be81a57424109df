import { Counter, Gauge } from '../observability/metrics.js';
import type { Registry } from '../observability/metrics.js';
import type { Tally } from '../observability/tallied-counter.js';
import { TalliedCounter } from '../observability/tallied-counter.js';
import type { DropReason } from './record/shadow-record.js';

export type ComparisonResult = 'match' | 'mismatch' | 'noise-only' | 'error' | 'skipped';

/**
 * Garbage collections of the shadow worker's heap, as Node's `gc` performance entries name them:
 * minor (scavenge), major (mark-compact), incremental (a marking step), weakcb (weak callbacks).
 */
export type GcKind = 'minor' | 'major' | 'incremental' | 'weakcb';

/** Shadow metrics on the registry the caller owns (never prom-client's global one). */
export interface ShadowMetrics {
  /** `n` comparisons with this result (default 1). */
  comparison(route: string, result: ComparisonResult, n?: number): void;
  dropped(route: string, reason: DropReason): void;
  queueDepth(route: string, depth: number): void;
  /** `n` garbage collections of one kind on the shadow worker thread, pausing it `seconds` in all. */
  workerGc(kind: GcKind, n: number, seconds: number): void;
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
  // The worker's collections are its own pauses, and those V8's helper threads run for it at the
  // proxy's priority: a rise here is shadowing costing the client path CPU (README "Performance").
  const gcs = new Counter({
    name: 'ficus_shadow_worker_gc_total',
    help: 'Garbage collections of the shadow worker thread\'s heap by kind: minor (scavenge), major (mark-compact), incremental (marking step), weakcb',
    labelNames: ['kind'],
    registers: [registry],
  });
  const gcSeconds = new Counter({
    name: 'ficus_shadow_worker_gc_seconds_total',
    help: 'Time the shadow worker thread spent paused in garbage collection, by kind',
    labelNames: ['kind'],
    registers: [registry],
  });
  return {
    comparison: (route, result, n = 1) => {
      comparisonCell(route, result).n += n;
    },
    dropped: (route, reason) => dropped.inc({ route, reason }),
    queueDepth: (route, d) => depth.set({ route }, d),
    workerGc: (kind, n, seconds) => {
      gcs.inc({ kind }, n);
      gcSeconds.inc({ kind }, seconds);
    },
  };
}

/** Metrics that cost nothing, when no registry is given. */
export const noShadowMetrics: ShadowMetrics = { comparison: () => {}, dropped: () => {}, queueDepth: () => {}, workerGc: () => {} };
