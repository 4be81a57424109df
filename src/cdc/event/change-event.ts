/**
 * The change event that flows source → transport → sink. `key` and `value` are exactly the
 * Debezium PostgreSQL connector's envelope (JSON converter, schemas disabled), so consumers written
 * for Debezium read ficus topics unchanged:
 * https://debezium.io/documentation/reference/stable/connectors/postgresql.html#postgresql-events
 *
 * `topic`, `schema`, `table` and `position` travel beside the envelope (as Kafka/Redis message
 * metadata): they are ficus's own routing and ordering data, not part of what Debezium emits.
 */

/**
 * A column value after type mapping (see README "Type mapping"). `bigint` appears only for int8 /
 * numeric-free integer values outside ±2^53, so int8 stays lossless; `encodeEvent`/`decodeEvent`
 * (event/event-codec.ts) write and read those as exact JSON numbers, like Debezium's INT64.
 */
export type ColumnValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | readonly ColumnValue[]
  | { readonly [key: string]: ColumnValue };

export type Row = Record<string, ColumnValue>;

/** Debezium's op codes: create, update, delete, read (snapshot), truncate. */
export type DebeziumOp = 'c' | 'u' | 'd' | 'r' | 't';

/** Debezium's `source.snapshot` values that ficus emits. */
export type SnapshotMarker = 'true' | 'first' | 'last' | 'false';

/** `value.source`, field for field as the Debezium PostgreSQL connector fills it. */
export interface DebeziumSource {
  /** ficus's version string, in the slot where Debezium puts its own. */
  readonly version: string;
  readonly connector: 'postgresql';
  /** Logical server name = the config's `topicPrefix` (Debezium's `topic.prefix`). */
  readonly name: string;
  /** Commit time of the source transaction (snapshot: time the row was read), ms since epoch. */
  readonly ts_ms: number;
  readonly snapshot: SnapshotMarker;
  readonly db: string;
  /** JSON text `["<last commit lsn>","<this lsn>"]` as decimal strings; null in snapshots. */
  readonly sequence: string | null;
  readonly schema: string;
  readonly table: string;
  readonly txId: number | null;
  /** WAL position of the change as a 64-bit integer (Debezium's INT64 `lsn`). */
  readonly lsn: number | null;
  readonly xmin: number | null;
}

export interface DebeziumValue {
  /** Row before the change: set for u/d when the table's replica identity provides it, else null. */
  readonly before: Row | null;
  /** Row after the change: set for c/u/r, null for d/t. */
  readonly after: Row | null;
  readonly source: DebeziumSource;
  readonly op: DebeziumOp;
  /** When ficus processed the event, ms since epoch (Debezium: connector processing time). */
  readonly ts_ms: number;
}

/**
 * Where an event sits in the source's history. Ordered by (lsn, seq): `lsn` is the commit LSN
 * "X/Y" of the source transaction (snapshot events: the slot's consistent point), `seq` the event's
 * index inside that transaction, so a sink can resume in the middle of a large transaction and drop
 * anything at or below its stored position.
 *
 * Snapshot rows are numbered from SNAPSHOT_SEQ_BASE (negative), so they all sort before a streamed
 * transaction whose commit record sits exactly at the consistent point (its events start at seq 0;
 * such a transaction is not in the snapshot, and Postgres decodes it).
 */
export interface EventPosition {
  readonly lsn: string;
  readonly seq: number;
}

/** `seq` of the first snapshot row; row n has SNAPSHOT_SEQ_BASE + n (exact up to 2^53 rows). */
export const SNAPSHOT_SEQ_BASE = Number.MIN_SAFE_INTEGER;

export interface ChangeEvent {
  /** `<topicPrefix>.<schema>.<table>` */
  readonly topic: string;
  /** Source table, so sinks need not parse the topic (a prefix may contain dots). */
  readonly schema: string;
  readonly table: string;
  /** Debezium key: the primary-key columns; null for truncate events. */
  readonly key: Row | null;
  /** Debezium value; null for the tombstone that follows a delete. */
  readonly value: DebeziumValue | null;
  readonly position: EventPosition;
}

/** Debezium's placeholder for an unchanged TOASTed column that the WAL did not carry. */
export const UNAVAILABLE_VALUE = '__debezium_unavailable_value';
