import type { ChangeEvent, DebeziumOp, Row } from '../../src/cdc/event/change-event.js';

/**
 * Builds ChangeEvents for sink and transport tests without a source database: the fields the
 * sink reads are exactly those the envelope builder fills (key, value.op/after, source.ts_ms,
 * position); the rest is plausible filler.
 */
export interface ChangeSpec {
  readonly op: DebeziumOp;
  readonly table?: string;
  readonly schema?: string;
  readonly prefix?: string;
  readonly key?: Row | null;
  readonly after?: Row | null;
  readonly before?: Row | null;
  readonly lsn: string;
  readonly seq?: number;
  readonly tsMs?: number;
}

export function change(spec: ChangeSpec): ChangeEvent {
  const schema = spec.schema ?? 'public';
  const table = spec.table ?? 'users';
  const tsMs = spec.tsMs ?? 1_700_000_000_000;
  return {
    topic: `${spec.prefix ?? 'legacy'}.${schema}.${table}`,
    schema,
    table,
    key: spec.op === 't' ? null : (spec.key ?? null),
    value: {
      before: spec.before ?? null,
      after: spec.op === 'd' || spec.op === 't' ? null : (spec.after ?? null),
      source: { version: 'test', connector: 'postgresql', name: spec.prefix ?? 'legacy', ts_ms: tsMs, snapshot: spec.op === 'r' ? 'true' : 'false', db: 'legacy', sequence: null, schema, table, txId: null, lsn: null, xmin: null },
      op: spec.op,
      ts_ms: tsMs,
    },
    position: { lsn: spec.lsn, seq: spec.seq ?? 0 },
  };
}

/** Debezium's tombstone after a delete: same topic and key, no value. */
export function tombstone(del: ChangeEvent): ChangeEvent {
  return { ...del, value: null, position: { lsn: del.position.lsn, seq: del.position.seq + 1 } };
}

/** Shorthands for the common "users" table: create / update / delete of one row. */
export const upsertUser = (id: number, email: string, lsn: string, seq = 0, op: DebeziumOp = 'c'): ChangeEvent =>
  change({ op, key: { id }, after: { id, email, name: `user ${id}` }, lsn, seq });
export const deleteUser = (id: number, lsn: string, seq = 0): ChangeEvent => change({ op: 'd', key: { id }, before: { id }, lsn, seq });
