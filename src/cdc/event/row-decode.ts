import type { ColumnValue, Row } from './change-event.js';
import { UNAVAILABLE_VALUE } from './change-event.js';
import type { ColumnType } from './type-mapping.js';
import { mapValue } from './type-mapping.js';

/** A column value as the server sent it: text, NULL, or "unchanged TOAST, not in the WAL". */
export const UNCHANGED_TOAST: unique symbol = Symbol('unchanged-toast');
export type TupleCell = string | null | typeof UNCHANGED_TOAST;
export type Tuple = readonly TupleCell[];

/** What the envelope needs to know about a table: its columns (in tuple order) and key. */
export interface TableShape {
  readonly schema: string;
  readonly table: string;
  readonly columns: ReadonlyArray<{ readonly name: string } & ColumnType>;
  readonly keyColumns: readonly string[];
}

/** A tuple's columns as Debezium values (README "Type mapping"), in the table's column order. */
export function decodeRow(shape: TableShape, tuple: Tuple): Row {
  const out: Record<string, ColumnValue> = {};
  for (let i = 0; i < shape.columns.length; i++) {
    const c = shape.columns[i];
    const cell = tuple[i];
    out[c.name] = cell === null || cell === undefined ? null : cell === UNCHANGED_TOAST ? UNAVAILABLE_VALUE : mapValue(cell, c);
  }
  return out;
}

/** Debezium's key: the key columns of `row`. */
export function keyOf(shape: TableShape, row: Row): Row {
  const k: Record<string, ColumnValue> = {};
  for (const name of shape.keyColumns) k[name] = row[name] ?? null;
  return k;
}
