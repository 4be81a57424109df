import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Knex } from 'knex';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { TableMapping } from '../config/cdc-model.js';
import { quoteIdent, tableKey } from '../config/cdc-model.js';
import type { ChangeEvent, EventPosition } from '../event/change-event.js';
import { comparePositions } from '../event/position.js';
import type { TableShape } from '../event/row-decode.js';
import { SnapshotRowValue } from '../event/snapshot-row.js';
import { BUILTIN_ARRAY_ELEM, OID } from '../event/type-mapping.js';
import { isUnavailable } from './batch-plan.js';
import type { CopyTextPlan } from './copy-text-plan.js';
import { copyTextPlan, copyTextRows } from './copy-text-plan.js';
import { errorCode } from './db-errors.js';
import type { PositionUpdate } from './sink-position.js';
import { POSITION_UPSERT_SQL, positionBindings } from './sink-position.js';
import type { SqlValue } from './sql-value.js';
import { toSqlValue } from './sql-value.js';
import type { TargetTable } from './target-table.js';

export interface SnapshotWriterDeps {
  readonly mappings: ReadonlyMap<string, TableMapping>;
  /** The target table a mapping writes (its description is loaded before a batch is applied). */
  readonly target: (mapping: TableMapping) => TargetTable;
  /** The general path, with a per-row LSN guard, for the rows the fast path must not take. */
  readonly general: (trx: Knex.Transaction, events: readonly ChangeEvent[]) => Promise<void>;
}

/**
 * Writes snapshot rows (op r) without a per-row LSN guard where that is safe, because the guard
 * writes every row twice. A snapshot that finds its table empty (the initial one) raises the
 * table's snapshot watermark (ficus_cdc_table_position.snapshot_lsn, see
 * migrations/20261130_cdc_snapshot_watermark.ts) to its consistent point S instead:
 *
 *  - the table then holds exactly the snapshot: every row reflects all changes committed before S,
 *    and a row the snapshot lacks is not there. So any event with commit LSN < S is stale for the
 *    table (the general path drops it), and the row guards below S are pruned;
 *  - the rows go in with a plain COPY (a snapshot holds each key once); a batch of the same
 *    snapshot seen again (redelivered, or resumed by another process) goes through a staging
 *    table and one INSERT ... ON CONFLICT.
 * A snapshot over rows it did not write (a repeated snapshot, mode "always" or one after an
 * interrupted run) cannot claim that: the replayed stream must still delete rows the snapshot no
 * longer has. It takes the general path, with a guard per row, as does a batch that meets a guard
 * or truncate after S (a snapshot batch redelivered after later changes).
 * All of it runs inside the sink's batch transaction, with the sink's position.
 */
export class SnapshotWriter {
  /**
   * Target table → the consistent point of a snapshot that found the table empty: its rows go in
   * with a plain COPY (a snapshot holds each key once). Any other snapshot upserts.
   */
  private readonly copyable = new Map<string, string>();
  /** Per target table (as last described) and source table: whether their rows' COPY text can go as is. */
  private readonly textPlans = new WeakMap<TargetTable, { readonly shape: TableShape; readonly plan: CopyTextPlan | null }>();

  constructor(private readonly d: SnapshotWriterDeps) {}

  /**
   * `events` are snapshot rows (op r), in source order. `position`, when given, is stored in the
   * same statement as the first table's watermark (one round trip less per batch); the result
   * says whether it was.
   */
  async write(trx: Knex.Transaction, events: readonly ChangeEvent[], position: PositionUpdate | null): Promise<boolean> {
    const groups = new Map<TableMapping, ChangeEvent[]>();
    // Snapshot batches hold long runs of one table: look its mapping up once per run.
    let topic: string | null = null;
    let g: ChangeEvent[] | undefined;
    for (const e of events) {
      if (e.topic !== topic) {
        topic = e.topic;
        const m = this.d.mappings.get(`${e.schema}.${e.table}`);
        g = m && groups.get(m);
        if (m && !g) groups.set(m, (g = []));
      }
      g?.push(e); // none: a table this sink does not map
    }
    let pending = position;
    for (const [m, g] of groups) {
      await this.writeTable(trx, m, g, pending);
      pending = null;
    }
    return position !== null && pending === null;
  }

  private async writeTable(trx: Knex.Transaction, mapping: TableMapping, events: readonly ChangeEvent[], position: PositionUpdate | null): Promise<void> {
    const target = this.d.target(mapping);
    const name = tableKey(mapping.to);
    const lsn = events[0].position.lsn;
    let first: EventPosition = events[0].position;
    let oneSnapshot = true;
    for (const e of events) {
      if (e.position.lsn !== lsn) oneSnapshot = false;
      else if (comparePositions(e.position, first) < 0) first = e.position;
    }
    const state = await this.readState(trx, target, name, first, oneSnapshot, position);
    // Rows of two snapshots in one batch: unusual enough for the general path.
    if (!oneSnapshot) return this.d.general(trx, events);
    if (state.stale) return; // the table holds a newer snapshot: every row is stale
    if (state.raised) {
      await trx.raw('delete from ficus_cdc_row_position where target_table = ? and lsn < ?::pg_lsn', [name, lsn]);
      this.copyable.set(name, lsn);
    } else if (state.newSnapshot || state.guarded || state.truncatedAfter) {
      // A snapshot over rows it did not write (a repeated one) keeps a guard per row, so the
      // replayed stream can still delete what the snapshot no longer has.
      this.copyable.delete(name);
      return this.d.general(trx, events);
    }
    const rows = this.sourceText(target, events) ?? (target.hasArrayColumn ? null : encodeRows(target, events));
    if (rows === null) return this.d.general(trx, events);
    if (this.copyable.get(name) !== lsn) return upsertThroughStage(trx, target, rows);
    try {
      await copyInto(trx, target.sql, target.columns, rows);
    } catch (err) {
      if (errorCode(err) !== '23505') throw err;
      // A key already there after all (a batch delivered twice): the transaction is lost; the
      // sink runs the batch again, and this snapshot upserts from now on.
      this.copyable.delete(name);
      throw new SnapshotCopyConflict(name, err);
    }
  }

  /** The rows as the source's COPY text, when they carry it and the target's columns take it as is. */
  private sourceText(target: TargetTable, events: readonly ChangeEvent[]): string | null {
    const first = events[0].value;
    if (!(first instanceof SnapshotRowValue)) return null;
    let known = this.textPlans.get(target);
    if (known?.shape !== first.shape) {
      known = { shape: first.shape, plan: copyTextPlan(target, first.shape) };
      this.textPlans.set(target, known);
    }
    return known.plan && copyTextRows(known.plan, known.shape, events);
  }

  /**
   * Reads what decides the path and raises the table's watermark to this snapshot when it may (a
   * new snapshot, an empty table, no guard or truncate after it); stores the sink's position if
   * asked. One round trip; every sub-statement sees the tables as they were before it.
   */
  private async readState(trx: Knex.Transaction, target: TargetTable, name: string, first: EventPosition, mayRaise: boolean, position: PositionUpdate | null): Promise<SnapshotState> {
    const res = await trx.raw<{ rows: Array<{ stale: boolean; new_snapshot: boolean; truncated_after: boolean; guarded: boolean; raised: boolean }> }>(
      `with tp as (select snapshot_lsn, truncated_lsn, truncated_seq from ficus_cdc_table_position where target_table = ?),
       c as (select
               (select snapshot_lsn from tp) as old_lsn,
               coalesce((select (truncated_lsn, truncated_seq) >= (?::pg_lsn, ?::bigint) from tp), false) as truncated_after,
               exists (select 1 from ficus_cdc_row_position where target_table = ? and lsn >= ?::pg_lsn) as guarded,
               exists (select 1 from ${target.sql}) as occupied),
       up as (
         insert into ficus_cdc_table_position as tp (target_table, truncated_lsn, truncated_seq, snapshot_lsn)
         select ?, '0/0', 0, ?::pg_lsn from c
          where ? and (c.old_lsn is null or c.old_lsn < ?::pg_lsn) and not c.occupied and not c.guarded and not c.truncated_after
         on conflict (target_table) do update set snapshot_lsn = excluded.snapshot_lsn
         returning 1)${position ? `,
       pos as (${POSITION_UPSERT_SQL})` : ''}
       select coalesce(c.old_lsn > ?::pg_lsn, false) as stale,
              coalesce(c.old_lsn < ?::pg_lsn, true) as new_snapshot,
              c.truncated_after, c.guarded, exists (select 1 from up) as raised
       from c`,
      [
        name, first.lsn, first.seq, name, first.lsn,
        name, first.lsn, mayRaise, first.lsn,
        ...(position ? positionBindings(position) : []),
        first.lsn, first.lsn,
      ],
    );
    const r = res.rows[0];
    return { stale: r.stale, newSnapshot: r.new_snapshot, truncatedAfter: r.truncated_after, guarded: r.guarded, raised: r.raised };
  }
}

interface SnapshotState {
  /** The table's watermark is a newer snapshot. */
  readonly stale: boolean;
  /** The watermark is older than this snapshot (or there is none). */
  readonly newSnapshot: boolean;
  /** A truncate at or after the batch's first row. */
  readonly truncatedAfter: boolean;
  /** A row guard at or after the consistent point. */
  readonly guarded: boolean;
  /** This batch raised the watermark to its snapshot: the table was empty, its rows go in unguarded. */
  readonly raised: boolean;
}

/** A snapshot's plain COPY met a key already in the table; the batch must run again (it will upsert). */
export class SnapshotCopyConflict extends Error {
  constructor(readonly table: string, cause: unknown) {
    super(`snapshot rows for ${table} met existing keys; applying the batch again as an upsert`, { cause });
    this.name = 'SnapshotCopyConflict';
  }
}

/** Source types whose Debezium value is not the column's text form (toSqlValue converts those). */
const CONVERTED = new Set<number>([OID.date, OID.time, OID.timestamp, OID.interval, OID.bytea]);

/** COPY text of the mapped columns of every row, or null when a row needs the general path. */
function encodeRows(target: TargetTable, events: readonly ChangeEvent[]): string | null {
  const cols = target.mapping.columns;
  const n = cols.length;
  const from = cols.map((c) => c.from);
  const types = cols.map((c) => target.types.get(c.to));
  // Numbers and strings of these columns are already their text form: skip toSqlValue.
  const plain = types.map((t) => t !== undefined && !CONVERTED.has(t.typeOid) && t.elemOid === 0 && BUILTIN_ARRAY_ELEM[t.typeOid] === undefined);
  const lines: string[] = new Array(events.length);
  for (let r = 0; r < events.length; r++) {
    const after = events[r].value?.after;
    if (!after) return null;
    let line = '';
    for (let i = 0; i < n; i++) {
      const v = after[from[i]];
      let field: string | null;
      if (v === null) field = '\\N';
      else if (plain[i] && typeof v === 'number') field = String(v);
      else if (plain[i] && typeof v === 'string') field = NEEDS_ESCAPE.test(v) ? v.replace(ESCAPES, escapeChar) : v;
      // A missing column or a TOAST placeholder: the row is partial, which only the general path writes.
      else if (v === undefined || isUnavailable(v)) return null;
      else field = copyField(toSqlValue(v, types[i]));
      if (field === null) return null;
      line = i === 0 ? field : `${line}\t${field}`;
    }
    lines[r] = line;
  }
  lines.push('');
  return lines.join('\n');
}

const NEEDS_ESCAPE = /[\\\t\n\r]/;
const ESCAPES = /[\\\t\n\r]/g;
const ESCAPED: Readonly<Record<string, string>> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const escapeChar = (c: string): string => ESCAPED[c];

/** One value in COPY text format (https://www.postgresql.org/docs/current/sql-copy.html); null: not representable here. */
function copyField(v: SqlValue): string | null {
  if (v === null) return '\\N';
  switch (typeof v) {
    case 'string':
      return NEEDS_ESCAPE.test(v) ? v.replace(ESCAPES, escapeChar) : v;
    case 'number':
      return String(v);
    case 'boolean':
      return v ? 't' : 'f';
    default:
      // bytea: hex input, its backslash escaped for COPY; arrays go the general path.
      return Buffer.isBuffer(v) ? `\\\\x${v.toString('hex')}` : null;
  }
}

async function copyInto(trx: Knex.Transaction, table: string, columns: readonly string[], rows: string): Promise<void> {
  const conn = (await trx.client.acquireConnection()) as pg.ClientBase;
  await pipeline(Readable.from([Buffer.from(rows)]), conn.query(copyFrom(`copy ${table} (${columns.map(quoteIdent).join(', ')}) from stdin`)));
}

/** Rows some of which may exist: COPY into a staging table, then one upsert by primary key. */
async function upsertThroughStage(trx: Knex.Transaction, target: TargetTable, rows: string): Promise<void> {
  const cols = target.columns.map(quoteIdent).join(', ');
  const update = target.columns.filter((c) => !target.keyColumns.includes(c));
  const set = update.map((c) => `${quoteIdent(c)} = excluded.${quoteIdent(c)}`).join(', ');
  await trx.raw(`create temp table ficus_snapshot_stage on commit drop as select ${cols} from ${target.sql} with no data`);
  await copyInto(trx, 'ficus_snapshot_stage', target.columns, rows);
  await trx.raw(
    `insert into ${target.sql} (${cols}) select ${cols} from ficus_snapshot_stage
     on conflict (${target.keyColumns.map(quoteIdent).join(', ')}) ${update.length > 0 ? `do update set ${set}` : 'do nothing'}`,
  );
  await trx.raw('drop table ficus_snapshot_stage');
}
