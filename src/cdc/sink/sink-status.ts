import knexFactory from 'knex';
import type { Knex } from 'knex';
import type { EventPosition } from '../event/change-event.js';

/** What `ficus cdc status` shows per sink, read from the sink database's ficus tables. */
export interface SinkStatus {
  readonly sink: string;
  readonly sourceId: string;
  /** Highest source position applied (null before the first batch). */
  readonly position: EventPosition | null;
  /** When the position was last written (ISO). */
  readonly appliedAt: string | null;
  /** Source commit time of the newest applied event (ms since epoch): time lag = now - this. */
  readonly lastEventTsMs: number | null;
  readonly eventsApplied: number;
  readonly deadLetters: { readonly count: number; readonly latest: DeadLetterSummary | null };
}

export interface DeadLetterSummary {
  readonly id: number;
  readonly sourceTable: string;
  readonly targetTable: string;
  readonly rowKey: string | null;
  readonly op: string;
  readonly position: EventPosition;
  readonly error: string;
  readonly errorCode: string | null;
  readonly attempts: number;
  readonly at: string;
}

interface PositionRow { lsn: string; seq: string; events_applied: string; last_event_ts_ms: string | null; updated_at: Date }
interface DeadRow { id: string; source_table: string; target_table: string; row_key: string | null; op: string; lsn: string; seq: string; error: string; error_code: string | null; attempts: number; created_at: Date }

export async function readSinkStatus(db: Knex, sink: string, sourceId: string): Promise<SinkStatus> {
  // Before the first `cdc run` the sink database has no ficus tables yet: nothing applied so far.
  const exists = await db.raw<{ rows: Array<{ t: string | null }> }>(`select to_regclass('ficus_cdc_sink_position')::text as t`);
  if (exists.rows[0]?.t == null) {
    return { sink, sourceId, position: null, appliedAt: null, lastEventTsMs: null, eventsApplied: 0, deadLetters: { count: 0, latest: null } };
  }
  const pos = await db('ficus_cdc_sink_position').where({ sink, source_id: sourceId }).first<PositionRow | undefined>();
  const count = await db('ficus_cdc_dead_letter').where({ sink, source_id: sourceId }).count<{ n: string }[]>({ n: '*' });
  const latest = await db('ficus_cdc_dead_letter').where({ sink, source_id: sourceId }).orderBy('id', 'desc').first<DeadRow | undefined>();
  return {
    sink,
    sourceId,
    position: pos ? { lsn: pos.lsn, seq: Number(pos.seq) } : null,
    appliedAt: pos ? pos.updated_at.toISOString() : null,
    lastEventTsMs: pos?.last_event_ts_ms != null ? Number(pos.last_event_ts_ms) : null,
    eventsApplied: pos ? Number(pos.events_applied) : 0,
    deadLetters: {
      count: Number(count[0]?.n ?? 0),
      latest: latest
        ? {
            id: Number(latest.id),
            sourceTable: latest.source_table,
            targetTable: latest.target_table,
            rowKey: latest.row_key,
            op: latest.op,
            position: { lsn: latest.lsn, seq: Number(latest.seq) },
            error: latest.error,
            errorCode: latest.error_code,
            attempts: latest.attempts,
            at: latest.created_at.toISOString(),
          }
        : null,
    },
  };
}

/** For `cdc status` without a running pipeline: connects, reads, disconnects. */
export async function sinkStatusFromDb(url: string, sink: string, sourceId: string): Promise<SinkStatus> {
  const db = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
  try {
    return await readSinkStatus(db, sink, sourceId);
  } finally {
    await db.destroy();
  }
}
