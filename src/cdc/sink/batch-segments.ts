import type { TableMapping } from '../config/cdc-model.js';
import type { ChangeEvent, EventPosition } from '../event/change-event.js';
import { comparePositions } from '../event/position.js';
import type { BatchPlan } from './batch-plan.js';
import { planBatch } from './batch-plan.js';

/**
 * A sink batch cut into runs, in source order: snapshot rows (op r), which the snapshot writer
 * takes table-wide, and everything else, planned by `planBatch` for the per-row LSN guard.
 */
export type Segment = { readonly kind: 'snapshot'; readonly events: readonly ChangeEvent[] } | { readonly kind: 'changes'; readonly plan: BatchPlan };

export interface SegmentedBatch {
  readonly segments: readonly Segment[];
  /** Highest position in the batch (tombstones included), null for an empty batch. */
  readonly maxPosition: EventPosition | null;
  /** Source commit time of the newest event, for time lag. */
  readonly lastEventTsMs: number | null;
  /** Events (not tombstones) in the batch, for the applied-events counter. */
  readonly eventCount: number;
}

export function segmentBatch(events: readonly ChangeEvent[], mappings: ReadonlyMap<string, TableMapping>): SegmentedBatch {
  const segments: Segment[] = [];
  let maxPosition: EventPosition | null = null;
  let lastEventTsMs: number | null = null;
  let eventCount = 0;
  let start = 0;
  const cut = (end: number, snapshot: boolean) => {
    if (end === start) return;
    const run = events.slice(start, end);
    segments.push(snapshot ? { kind: 'snapshot', events: run } : { kind: 'changes', plan: planBatch(run, mappings) });
    start = end;
  };
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (maxPosition === null || comparePositions(e.position, maxPosition) > 0) maxPosition = e.position;
    if (e.value !== null) {
      eventCount++;
      if (lastEventTsMs === null || e.value.source.ts_ms > lastEventTsMs) lastEventTsMs = e.value.source.ts_ms;
    }
    const snapshot = e.value?.op === 'r';
    const previous = i > 0 && events[i - 1].value?.op === 'r';
    if (i > 0 && snapshot !== previous) cut(i, previous);
  }
  cut(events.length, events.length > 0 && events[events.length - 1].value?.op === 'r');
  return { segments, maxPosition, lastEventTsMs, eventCount };
}
