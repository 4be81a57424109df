import type { NoiseThresholds } from '../noise/noise-model.js';
import type { ComparisonRecord, DropReason, SecondaryRecord } from '../record/shadow-record.js';
import type { ComparisonResult, GcKind } from '../shadow-metrics.js';
import type { RingMemory } from './copy-ring.js';
import type { ThreadPriority } from './thread-priority.js';

/** What the host gives the shadow worker when it starts it. */
export interface ShadowWorkerData {
  readonly ring: RingMemory;
  /** How far the worker thread yields to the main thread (`idle` or a nice value 0-19). */
  readonly priority: ThreadPriority;
  /** The host logger's level, so the worker formats only lines the host will write. */
  readonly logLevel: string;
  readonly noiseThresholds: NoiseThresholds | null;
  readonly maxBufferedBytes: number | null;
}

/**
 * The worker's dispatcher records and counts into these; they travel to the host in batches and
 * are applied there to the real recorder, metrics and logger.
 */
export type WorkerEvent =
  | { readonly t: 'comparison'; readonly r: ComparisonRecord }
  /** `n` matching comparisons in a row for one route and endpoint; `at` is the last one's time. */
  | { readonly t: 'matched'; readonly route: string; readonly endpoint: string; readonly roles: ComparisonRecord['roles']; readonly at: number; readonly n: number }
  | { readonly t: 'secondary'; readonly r: SecondaryRecord }
  | { readonly t: 'dropped'; readonly route: string; readonly endpoint: string; readonly roles: ComparisonRecord['roles']; readonly reason: DropReason }
  | { readonly t: 'metric-comparison'; readonly route: string; readonly result: ComparisonResult; readonly n: number }
  | { readonly t: 'metric-dropped'; readonly route: string; readonly reason: DropReason }
  | { readonly t: 'metric-depth'; readonly route: string; readonly depth: number }
  /** The worker's garbage collections of one kind since the last batch, and their pauses in all. */
  | { readonly t: 'metric-gc'; readonly kind: GcKind; readonly n: number; readonly seconds: number }
  /** One JSON log line as the worker's logger wrote it. */
  | { readonly t: 'log'; readonly line: string };

export type HostMessage = { readonly t: 'idle'; readonly id: number } | { readonly t: 'close'; readonly id: number };

export type WorkerMessage =
  | { readonly t: 'events'; readonly events: readonly WorkerEvent[] }
  | { readonly t: 'idle-done'; readonly id: number }
  | { readonly t: 'closed'; readonly id: number };
