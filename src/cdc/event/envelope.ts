import type { ChangeEvent, DebeziumOp, DebeziumSource, EventPosition, Row, SnapshotMarker } from './change-event.js';
import { lsnToNumber } from './position.js';
import type { TableShape, Tuple } from './row-decode.js';
import { decodeRow, keyOf } from './row-decode.js';
import { SnapshotRowEvent, SnapshotRowValue } from './snapshot-row.js';

export { UNCHANGED_TOAST } from './row-decode.js';
export type { TableShape, Tuple, TupleCell } from './row-decode.js';

/** Per-transaction facts that go into `value.source`. */
export interface TxnFacts {
  readonly commitLsn: string;
  readonly xid: number | null;
  readonly commitTimeMs: number;
  /** Debezium's `sequence[0]`: the previous transaction's commit LSN (null before the first). */
  readonly lastCommitLsn: string | null;
}

export interface EnvelopeOptions {
  readonly topicPrefix: string;
  readonly database: string;
  readonly version: string;
  readonly tombstones: boolean;
  readonly now: () => number;
}

/**
 * Builds Debezium change events from decoded rows. The rules that are easy to get wrong, each as
 * Debezium does it (https://debezium.io/documentation/reference/stable/connectors/postgresql.html):
 *  - key = the key columns of the *new* row (for deletes: of the old row);
 *  - a delete is followed by a tombstone (same key, null value) unless tombstones are off;
 *  - an update that changes the key is emitted as delete (old key) + tombstone + create (new key);
 *  - an unchanged TOASTed column the WAL did not carry is `__debezium_unavailable_value`;
 *  - `before` of an update/delete holds what the replica identity provides (key columns only
 *    under DEFAULT, the other columns null), of an update under DEFAULT: null.
 */
export class EnvelopeBuilder {
  private readonly topics = new WeakMap<TableShape, string>();

  constructor(private readonly o: EnvelopeOptions) {}

  topic(schema: string, table: string): string {
    return `${this.o.topicPrefix}.${schema}.${table}`;
  }

  /** The topic of a table's events, built once per shape (snapshot rows ask for it per row). */
  private topicOf(shape: TableShape): string {
    let t = this.topics.get(shape);
    if (t === undefined) {
      t = this.topic(shape.schema, shape.table);
      this.topics.set(shape, t);
    }
    return t;
  }

  row(shape: TableShape, tuple: Tuple): Row {
    return decodeRow(shape, tuple);
  }

  key(shape: TableShape, row: Row): Row {
    return keyOf(shape, row);
  }

  private source(shape: TableShape, snapshot: SnapshotMarker, txn: TxnFacts | null, changeLsn: string | null, tsMs: number): DebeziumSource {
    return {
      version: this.o.version,
      connector: 'postgresql',
      name: this.o.topicPrefix,
      ts_ms: tsMs,
      snapshot,
      db: this.o.database,
      sequence: txn && changeLsn ? JSON.stringify([txn.lastCommitLsn === null ? null : String(lsnToNumber(txn.lastCommitLsn)), String(lsnToNumber(changeLsn))]) : null,
      schema: shape.schema,
      table: shape.table,
      txId: txn?.xid ?? null,
      lsn: changeLsn === null ? null : lsnToNumber(changeLsn),
      xmin: null,
    };
  }

  private event(shape: TableShape, key: Row | null, before: Row | null, after: Row | null, op: DebeziumOp, source: DebeziumSource, position: EventPosition): ChangeEvent {
    return {
      topic: this.topicOf(shape),
      schema: shape.schema,
      table: shape.table,
      key,
      value: { before, after, source, op, ts_ms: this.o.now() },
      position,
    };
  }

  private tombstone(shape: TableShape, key: Row, position: EventPosition): ChangeEvent {
    return { topic: this.topicOf(shape), schema: shape.schema, table: shape.table, key, value: null, position };
  }

  /**
   * `value.source` of snapshot rows: built once per table and marker and shared by its rows (events
   * are immutable), since every row of a table's snapshot has the same facts.
   */
  snapshotSource(shape: TableShape, marker: SnapshotMarker, consistentLsn: string, xid: number | null, readAtMs: number): DebeziumSource {
    return { ...this.source(shape, marker, null, null, readAtMs), lsn: lsnToNumber(consistentLsn), txId: xid };
  }

  /**
   * A snapshot row (op r) from its COPY text line, with a source from `snapshotSource`. `position`
   * is (consistent point, SNAPSHOT_SEQ_BASE + row number); `tsMs` is when it was read (Debezium's
   * `ts_ms`). Its key and `after` are decoded when first read (see SnapshotRowEvent).
   */
  read(shape: TableShape, copyLine: string, source: DebeziumSource, position: EventPosition, tsMs: number): SnapshotRowEvent {
    return new SnapshotRowEvent(this.topicOf(shape), new SnapshotRowValue(shape, copyLine, source, tsMs), position);
  }

  /**
   * Streaming changes. `seq` is the next free sequence number inside the transaction; the events
   * returned use seq, seq+1, ... (a delete with its tombstone takes two).
   */
  insert(shape: TableShape, tuple: Tuple, txn: TxnFacts, changeLsn: string, seq: number): ChangeEvent[] {
    const after = this.row(shape, tuple);
    return [this.event(shape, this.key(shape, after), null, after, 'c', this.source(shape, 'false', txn, changeLsn, txn.commitTimeMs), { lsn: txn.commitLsn, seq })];
  }

  update(shape: TableShape, oldKind: 'K' | 'O' | null, oldTuple: Tuple | null, newTuple: Tuple, txn: TxnFacts, changeLsn: string, seq: number): ChangeEvent[] {
    const after = this.row(shape, newTuple);
    const newKey = this.key(shape, after);
    const before = oldTuple ? this.partialRow(shape, oldTuple) : null;
    const src = this.source(shape, 'false', txn, changeLsn, txn.commitTimeMs);
    if (before) {
      const oldKey = this.key(shape, before);
      if (!sameKey(oldKey, newKey)) {
        // 1. delete under the old key, 2. its tombstone, 3. create under the new key.
        const out: ChangeEvent[] = [this.event(shape, oldKey, before, null, 'd', src, { lsn: txn.commitLsn, seq })];
        if (this.o.tombstones) out.push(this.tombstone(shape, oldKey, { lsn: txn.commitLsn, seq: seq + out.length }));
        out.push(this.event(shape, newKey, null, after, 'c', src, { lsn: txn.commitLsn, seq: seq + out.length }));
        return out;
      }
    }
    // Debezium puts `before` only when the replica identity is FULL (old tuple 'O').
    return [this.event(shape, newKey, oldKind === 'O' ? before : null, after, 'u', src, { lsn: txn.commitLsn, seq })];
  }

  delete(shape: TableShape, oldTuple: Tuple, txn: TxnFacts, changeLsn: string, seq: number): ChangeEvent[] {
    const before = this.partialRow(shape, oldTuple);
    const key = this.key(shape, before);
    const out = [this.event(shape, key, before, null, 'd', this.source(shape, 'false', txn, changeLsn, txn.commitTimeMs), { lsn: txn.commitLsn, seq })];
    if (this.o.tombstones) out.push(this.tombstone(shape, key, { lsn: txn.commitLsn, seq: seq + 1 }));
    return out;
  }

  truncate(shape: TableShape, txn: TxnFacts, changeLsn: string, seq: number): ChangeEvent[] {
    return [this.event(shape, null, null, null, 't', this.source(shape, 'false', txn, changeLsn, txn.commitTimeMs), { lsn: txn.commitLsn, seq })];
  }

  /** An old tuple: under DEFAULT/INDEX identity only key columns are set (others arrive as NULL). */
  private partialRow(shape: TableShape, tuple: Tuple): Row {
    return this.row(shape, tuple);
  }
}

function sameKey(a: Row, b: Row): boolean {
  for (const k of Object.keys(a)) {
    const x = a[k];
    const y = b[k];
    if (x !== y && JSON.stringify(x, bigintJson) !== JSON.stringify(y, bigintJson)) return false;
  }
  return true;
}

function bigintJson(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}
