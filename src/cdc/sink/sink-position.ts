import type { EventPosition } from '../event/change-event.js';

/** What one batch adds to a sink's row in ficus_cdc_sink_position. */
export interface PositionUpdate {
  readonly sink: string;
  readonly sourceId: string;
  /** Highest position in the batch; the stored one only moves forward. */
  readonly position: EventPosition;
  readonly events: number;
  readonly lastEventTsMs: number | null;
}

/**
 * The sink's position upsert, written in the same transaction as the rows. A statement of its
 * own, or a data-modifying CTE inside another one to save a round trip (snapshot batches).
 * Bindings: `positionBindings`.
 */
export const POSITION_UPSERT_SQL = `insert into ficus_cdc_sink_position as p (sink, source_id, lsn, seq, events_applied, last_event_ts_ms, updated_at)
       values (?, ?, ?, ?, ?, ?, now())
       on conflict (sink, source_id) do update set
         lsn = case when (excluded.lsn, excluded.seq) > (p.lsn, p.seq) then excluded.lsn else p.lsn end,
         seq = case when (excluded.lsn, excluded.seq) > (p.lsn, p.seq) then excluded.seq else p.seq end,
         events_applied = p.events_applied + excluded.events_applied,
         last_event_ts_ms = greatest(p.last_event_ts_ms, excluded.last_event_ts_ms),
         updated_at = now()`;

export function positionBindings(u: PositionUpdate): Array<string | number | null> {
  return [u.sink, u.sourceId, u.position.lsn, u.position.seq, u.events, u.lastEventTsMs];
}
