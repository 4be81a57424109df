import pg from 'pg';
import type { ChangeEvent } from '../event/change-event.js';
import { SNAPSHOT_SEQ_BASE } from '../event/change-event.js';
import type { SnapshotRowEvent } from '../event/snapshot-row.js';
import type { EnvelopeBuilder, TableShape } from '../event/envelope.js';
import { quoteIdent } from '../config/cdc-model.js';
import { CopyOutQuery } from './copy-out-query.js';
import { DECODE_SESSION_OPTIONS } from './replication-connection.js';

export interface SnapshotProgress {
  readonly table: string;
  readonly rows: number;
  /** Estimated rows of the table (pg_class.reltuples), or null when never analyzed. */
  readonly estimate: number | null;
  readonly rowsPerSecond: number;
  readonly done: boolean;
}

export interface SnapshotOptions {
  readonly url: string;
  readonly snapshotName: string;
  readonly consistentPoint: string;
  readonly tables: readonly TableShape[];
  readonly envelope: EnvelopeBuilder;
  readonly batchSize: number;
  /** A batch also ends once its rows' COPY text reaches this many bytes (wide rows, bounded memory). */
  readonly batchBytes: number;
  readonly now: () => number;
  /** Hands one batch downstream; resolves when durable (the read waits, so memory stays bounded). */
  readonly deliver: (events: ChangeEvent[]) => Promise<void>;
  readonly onProgress?: (p: SnapshotProgress) => void;
  /** Polled between chunks: true aborts the snapshot (it is repeated on the next start). */
  readonly shouldStop?: () => boolean;
}

/** Thrown when `shouldStop` asked the snapshot to end early. */
export class SnapshotAborted extends Error {
  constructor() {
    super('snapshot aborted by stop');
    this.name = 'SnapshotAborted';
  }
}

/**
 * The initial snapshot (op "r"), consistent with the stream: one REPEATABLE READ transaction that
 * imports the snapshot the slot exported, so it sees exactly the rows committed before the slot's
 * consistent point; every later change comes from the slot. Tables are read with COPY (the fastest
 * way out of Postgres), in text format — the same text pgoutput sends, so one type mapper serves both;
 * each event keeps its row's line and decodes it only when its values are read (SnapshotRowEvent).
 * Positions are (consistent point, SNAPSHOT_SEQ_BASE + global row number): monotonic across tables,
 * so a sink's single stored position orders them, and every streamed change sorts after (even one
 * committed exactly at the consistent point: its seq starts at 0).
 */
export async function readSnapshot(o: SnapshotOptions): Promise<number> {
  const client = new pg.Client({ connectionString: o.url, options: DECODE_SESSION_OPTIONS });
  // A lost connection also fails the query in flight (handleError), which ends the snapshot with
  // that error; without a listener the client's 'error' event would crash the process instead.
  client.on('error', () => {});
  await client.connect();
  let rowsRead = 0;
  try {
    // 1. Import the exported snapshot.
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await client.query(`SET TRANSACTION SNAPSHOT '${o.snapshotName.replace(/'/g, "''")}'`);
    const xid = Number((await client.query<{ x: string }>('select txid_snapshot_xmin(txid_current_snapshot())::text as x')).rows[0].x);
    let pending: SnapshotRowEvent | null = null;
    let batch: ChangeEvent[] = [];
    let batchBytes = 0;
    /** Full batches cut while parsing one chunk, handed on after it (no await per row). */
    const full: ChangeEvent[][] = [];
    let first = true;
    // One batch in flight while COPY keeps reading: sequential delivery, overlapped work.
    let inflight: Promise<void> = Promise.resolve();
    const deliverFull = async () => {
      for (const b of full) {
        await inflight;
        inflight = o.deliver(b);
        inflight.catch(() => {}); // observed by the next await
      }
      full.length = 0;
    };
    // 2. COPY each table, one event per row; the last row overall is held back to mark it "last".
    for (const shape of o.tables) {
      const name = `${shape.schema}.${shape.table}`;
      const est = await client.query<{ n: number }>('select reltuples::float8 as n from pg_class where oid = $1::regclass', [`${quoteIdent(shape.schema)}.${quoteIdent(shape.table)}`]);
      const estimate = est.rows[0] && est.rows[0].n >= 0 ? Math.round(est.rows[0].n) : null;
      const cols = shape.columns.map((c) => quoteIdent(c.name)).join(', ');
      const copy = client.query(new CopyOutQuery(`COPY (SELECT ${cols} FROM ${quoteIdent(shape.schema)}.${quoteIdent(shape.table)}) TO STDOUT`));
      const started = o.now();
      const readAt = started;
      // Every row of the table shares one `source` (the first row overall has its own marker).
      const source = o.envelope.snapshotSource(shape, 'true', o.consistentPoint, xid, readAt);
      const firstSource = first ? o.envelope.snapshotSource(shape, 'first', o.consistentPoint, xid, readAt) : source;
      let rows = 0;
      let lastReport = started;
      for await (const lines of copy.batches()) {
        // Aborting leaves the COPY running; ending the client (finally) closes its socket.
        if (o.shouldStop?.()) throw new SnapshotAborted();
        const tsMs = o.now();
        for (const line of lines) {
          const e = o.envelope.read(shape, line, first ? firstSource : source, { lsn: o.consistentPoint, seq: SNAPSHOT_SEQ_BASE + rowsRead }, tsMs);
          first = false;
          rowsRead++;
          rows++;
          if (pending) {
            batch.push(pending);
            // String length is the byte count for ASCII text, a close lower bound otherwise.
            batchBytes += pending.value.copyLine.length;
            if (batch.length >= o.batchSize || batchBytes >= o.batchBytes) {
              full.push(batch);
              batch = [];
              batchBytes = 0;
            }
          }
          pending = e;
        }
        if (full.length > 0) await deliverFull();
        if (o.onProgress && tsMs - lastReport >= 1000) {
          lastReport = tsMs;
          o.onProgress({ table: name, rows, estimate, rowsPerSecond: rows / Math.max(0.001, (tsMs - started) / 1000), done: false });
        }
      }
      o.onProgress?.({ table: name, rows, estimate, rowsPerSecond: rows / Math.max(0.001, (o.now() - started) / 1000), done: true });
    }
    if (pending) batch.push(pending.withSource({ ...pending.value.source, snapshot: 'last' }));
    if (batch.length > 0) full.push(batch);
    await deliverFull();
    await inflight;
    await client.query('COMMIT');
    return rowsRead;
  } finally {
    await client.end().catch(() => {});
  }
}
