import type { ChangeEvent, DebeziumSource, DebeziumValue, EventPosition, Row } from './change-event.js';
import { parseCopyLine } from './copy-text.js';
import type { TableShape } from './row-decode.js';
import { decodeRow, keyOf } from './row-decode.js';

/**
 * The Debezium value of a snapshot row (op r), kept as the row's COPY text line until `after` is
 * first read. A snapshot moves millions of rows and, in the direct transport, most of them never
 * need their values decoded: the sink copies a column's text straight into a target column of the
 * same built-in type (sink/snapshot-writer.ts), which is what decoding and re-encoding would give.
 * Whoever reads `after`, or serializes the value (toJSON, as the Redis and Kafka transports do),
 * gets exactly the Debezium row, decoded once.
 *
 * `after` is an accessor: a spread copy ({...value}) would lose it; use `withSource` instead.
 */
export class SnapshotRowValue implements DebeziumValue {
  readonly before = null;
  readonly op = 'r' as const;
  private decoded: Row | null = null;

  constructor(
    /** The source table, in whose column order `copyLine` holds the fields. */
    readonly shape: TableShape,
    /** The row as COPY TO STDOUT wrote it (text format, no newline). */
    readonly copyLine: string,
    readonly source: DebeziumSource,
    readonly ts_ms: number,
  ) {}

  get after(): Row {
    return (this.decoded ??= decodeRow(this.shape, parseCopyLine(this.copyLine)));
  }

  /** The same row under another `source` (the snapshot's last row is marked "last"). */
  withSource(source: DebeziumSource): SnapshotRowValue {
    const v = new SnapshotRowValue(this.shape, this.copyLine, source, this.ts_ms);
    v.decoded = this.decoded;
    return v;
  }

  toJSON(): DebeziumValue {
    return { before: null, after: this.after, source: this.source, op: 'r', ts_ms: this.ts_ms };
  }
}

/** A snapshot row's change event; its key is decoded from the row when first read. */
export class SnapshotRowEvent implements ChangeEvent {
  readonly schema: string;
  readonly table: string;
  private decodedKey: Row | null = null;

  constructor(
    readonly topic: string,
    readonly value: SnapshotRowValue,
    readonly position: EventPosition,
  ) {
    this.schema = value.shape.schema;
    this.table = value.shape.table;
  }

  get key(): Row {
    return (this.decodedKey ??= keyOf(this.value.shape, this.value.after));
  }

  withSource(source: DebeziumSource): SnapshotRowEvent {
    return new SnapshotRowEvent(this.topic, this.value.withSource(source), this.position);
  }

  toJSON(): ChangeEvent {
    return { topic: this.topic, schema: this.schema, table: this.table, key: this.key, value: this.value.toJSON(), position: this.position };
  }
}
