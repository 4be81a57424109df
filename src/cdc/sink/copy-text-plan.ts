import type { ChangeEvent } from '../event/change-event.js';
import type { TableShape } from '../event/row-decode.js';
import { SnapshotRowValue } from '../event/snapshot-row.js';
import type { TargetTable } from './target-table.js';

/**
 * How a target row's COPY text is cut out of the source row's: the target line is the source line
 * itself (`whole`), or the listed source fields in target column order.
 */
export type CopyTextPlan = { readonly whole: true } | { readonly whole: false; readonly fields: readonly number[] };

/** Types from Postgres's initial catalog have the same oid in every database; user types do not. */
const FIRST_USER_OID = 16384;

/**
 * Built-in types whose text a sink session could read differently from how the snapshot's session
 * wrote it (money: lc_monetary; interval: IntervalStyle sql_standard signs): decoded and re-encoded
 * like any value, never copied as text. Every other built-in type's output is read back exactly by
 * its input function whatever the session (the snapshot writes ISO dates with explicit offsets,
 * floats with extra_float_digits=3, bytea as hex).
 */
const SESSION_DEPENDENT = new Set<number>([790, 791, 1186, 1187]);

/**
 * A plan when every mapped column can go from the source's COPY text to the sink's as is: the two
 * columns have the same built-in type, so the sink's input function reads exactly what decoding
 * the Debezium value and encoding it back would give (README "Sinks"). Null otherwise: the rows
 * are encoded from their Debezium values.
 */
export function copyTextPlan(target: TargetTable, shape: TableShape): CopyTextPlan | null {
  const fields: number[] = [];
  for (const c of target.mapping.columns) {
    const i = shape.columns.findIndex((s) => s.name === c.from);
    if (i === -1) return null;
    const oid = shape.columns[i].typeOid;
    if (oid !== target.sinkTypeOids.get(c.to) || oid >= FIRST_USER_OID || SESSION_DEPENDENT.has(oid)) return null;
    fields.push(i);
  }
  if (fields.length === 0) return null;
  const whole = fields.length === shape.columns.length && fields.every((f, i) => f === i);
  return whole ? { whole: true } : { whole: false, fields };
}

/**
 * The COPY text of `events` (snapshot rows of `shape`) under `plan`, one line per row, or null when
 * one of them does not carry its COPY text (it came through a broker as JSON, say).
 */
export function copyTextRows(plan: CopyTextPlan, shape: TableShape, events: readonly ChangeEvent[]): string | null {
  const lines: string[] = new Array(events.length + 1);
  for (let r = 0; r < events.length; r++) {
    const v = events[r].value;
    if (!(v instanceof SnapshotRowValue) || v.shape !== shape) return null;
    lines[r] = plan.whole ? v.copyLine : pick(v.copyLine, plan.fields);
  }
  lines[events.length] = '';
  return lines.join('\n');
}

/** The listed tab-separated fields of a COPY line (escapes stay as they are: both sides are COPY text). */
function pick(line: string, fields: readonly number[]): string {
  const all = line.split('\t');
  let out = all[fields[0]];
  for (let i = 1; i < fields.length; i++) out = `${out}\t${all[fields[i]]}`;
  return out;
}
