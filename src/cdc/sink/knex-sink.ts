import knexFactory from 'knex';
import type { Knex } from 'knex';
import { migrateFicusTables } from '../../../migrations/index.js';
import { FicusError } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import type { Registry } from '../../observability/metrics.js';
import { Counter, Histogram } from '../../observability/metrics.js';
import type { RandomSource } from '../../util/clock.js';
import { retry } from '../../util/retry.js';
import type { RetryPolicy } from '../../util/retry.js';
import type { SinkModel, TableMapping } from '../config/cdc-model.js';
import { qualified, quoteIdent, tableKey } from '../config/cdc-model.js';
import type { ColumnInfo } from '../config/check-databases.js';
import { describeTable } from '../config/check-databases.js';
import type { ChangeEvent, EventPosition } from '../event/change-event.js';
import { decodeEvent, encodeJson } from '../event/event-codec.js';
import type { ColumnType } from '../event/type-mapping.js';
import type { BatchPlan, RowChange, TablePlan, UpsertChange } from './batch-plan.js';
import { planBatch } from './batch-plan.js';
import { errorCode, errorMessage, isSchemaError, isTransientDbError } from './db-errors.js';
import type { SinkStatus } from './sink-status.js';
import type { TargetTable } from './target-table.js';
import type { SegmentedBatch } from './batch-segments.js';
import { segmentBatch } from './batch-segments.js';
import { POSITION_UPSERT_SQL, positionBindings } from './sink-position.js';
import { SnapshotCopyConflict, SnapshotWriter } from './snapshot-writer.js';
import { readSinkStatus } from './sink-status.js';
import type { SqlValue } from './sql-value.js';
import { toSqlValue } from './sql-value.js';

/**
 * A sink writes change events into one service's own Postgres through knex. Each `apply` call is
 * one transaction that holds, together: the rows, the LSN guard's row positions, and the sink's
 * position; so a crash at any point leaves either all of a batch or none of it.
 */
export interface Sink {
  readonly name: string;
  /** Creates/updates ficus's bookkeeping tables in the sink database (idempotent). */
  migrate(): Promise<void>;
  /**
   * Applies a batch in one transaction (LSN guard, position stored with the data). Transient
   * database errors are retried with backoff; an event that keeps failing for a data reason is
   * parked in `ficus_cdc_dead_letter` and the rest is applied. Rejects (FICUS_ERR_CDC_SINK) only
   * when the database stays unreachable, so the transport redelivers later.
   */
  apply(events: readonly ChangeEvent[]): Promise<void>;
  status(): Promise<SinkStatus>;
  /**
   * Applies parked events again (all of this sink's, or the given ids), oldest first, each in its
   * own transaction that also deletes its dead letter. The LSN guard still holds: a dead letter
   * whose row has since been written by a newer event is resolved without touching the row. One
   * that fails again stays, with the new error and one more attempt counted.
   */
  replayDeadLetters(options?: { readonly ids?: readonly number[] }): Promise<ReplayResult>;
  close(): Promise<void>;
}

export interface ReplayResult {
  /** Dead letters applied (or found superseded by newer events) and deleted. */
  readonly replayed: number;
  /** Dead letters that failed again and stay parked. */
  readonly failed: number;
}

export interface SinkDeps {
  /** Source identity the position is stored under (the replication slot name). */
  readonly sourceId: string;
  readonly logger?: Logger;
  readonly registry?: Registry;
  readonly random?: RandomSource;
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * Source column types by `schema.table` (the start-up check's catalog). Temporal values are read
   * by the source column's precision; without it the sink column's type is used.
   */
  readonly sourceColumns?: ReadonlyMap<string, { readonly columns: readonly ColumnInfo[] }>;
  /** Largest pool size (default 4). */
  readonly poolMax?: number;
  /** Fault injection for tests: runs inside the transaction right before COMMIT. */
  readonly beforeCommit?: (trx: Knex.Transaction) => Promise<void>;
}

export async function createSink(model: SinkModel, deps: SinkDeps): Promise<Sink> {
  const logger = deps.logger;
  const db = knexFactory({
    client: 'pg',
    connection: model.url,
    pool: { min: 0, max: deps.poolMax ?? 4 },
    // knex would print to the console (e.g. a dropped connection): route it to our logger.
    log: {
      warn: (m: unknown) => logger?.warn({ sink: model.name, detail: String(m) }, 'knex warning'),
      error: (m: unknown) => logger?.error({ sink: model.name, detail: String(m) }, 'knex error'),
      debug: () => {},
      deprecate: () => {},
    },
  });
  return new KnexSink(model, db, deps);
}

/** Rows per multi-row INSERT: under Postgres's 65535 bind parameters with room to spare. */
const MAX_PARAMS = 30_000;

interface SinkMetrics {
  readonly events: Counter<'sink'>;
  readonly deadLetters: Counter<'sink'>;
  readonly batchSeconds: Histogram<'sink'>;
}

function createMetrics(registry: Registry | undefined): SinkMetrics | null {
  if (!registry) return null;
  const get = <T>(name: string, make: () => T): T => (registry.getSingleMetric(name) as T | undefined) ?? make();
  return {
    events: get('ficus_cdc_sink_events_total', () => new Counter({ name: 'ficus_cdc_sink_events_total', help: 'Change events applied by a sink', labelNames: ['sink'], registers: [registry] })),
    deadLetters: get('ficus_cdc_sink_dead_letters_total', () => new Counter({ name: 'ficus_cdc_sink_dead_letters_total', help: 'Events parked as dead letters', labelNames: ['sink'], registers: [registry] })),
    batchSeconds: get('ficus_cdc_sink_batch_duration_seconds', () => new Histogram({ name: 'ficus_cdc_sink_batch_duration_seconds', help: 'Time to apply one batch', labelNames: ['sink'], registers: [registry] })),
  };
}

export class KnexSink implements Sink {
  readonly name: string;
  private readonly mappings: ReadonlyMap<string, TableMapping>;
  private targets: Map<string, TargetTable> | null = null;
  private readonly policy: RetryPolicy;
  private readonly metrics: SinkMetrics | null;
  private readonly snapshots: SnapshotWriter;

  constructor(private readonly model: SinkModel, readonly db: Knex, private readonly deps: SinkDeps) {
    this.name = model.name;
    this.mappings = new Map(model.tables.map((m) => [tableKey(m.from), m]));
    this.policy = model.retry;
    this.metrics = createMetrics(deps.registry);
    this.snapshots = new SnapshotWriter({
      mappings: this.mappings,
      target: (m) => this.targetOf(tableKey(m.to)),
      general: (trx, events) => this.applyPlanned(trx, planBatch(events, this.mappings)),
    });
  }

  async migrate(): Promise<void> {
    // Two processes starting at once: knex's migration lock makes one wait and retry.
    await this.withRetry(() => migrateFicusTables(this.db), (err) => isTransientDbError(err) || /already locked/i.test(errorMessage(err)));
  }

  async status(): Promise<SinkStatus> {
    return readSinkStatus(this.db, this.name, this.deps.sourceId);
  }

  async replayDeadLetters(options: { readonly ids?: readonly number[] } = {}): Promise<ReplayResult> {
    // Replay follows a fix, often to the sink's schema (a wider column): read the tables afresh.
    this.targets = null;
    await this.withRetry(() => this.loadTargets(), isTransientDbError).catch((err: unknown) => {
      throw err instanceof FicusError ? err : this.sinkError(err);
    });
    let query = this.db('ficus_cdc_dead_letter').where({ sink: this.name, source_id: this.deps.sourceId });
    if (options.ids) query = query.whereIn('id', [...options.ids]);
    // event::text, not jsonb parsed by the driver: decodeJson keeps int8 beyond 2^53 exact.
    const letters = await query.orderBy('id').select<Array<{ id: string; event: string }>>('id', this.db.raw('event::text as event'));
    let replayed = 0;
    let failed = 0;
    for (const letter of letters) {
      const plan = planBatch([decodeEvent(letter.event)], this.mappings);
      try {
        if (plan.rejected.length > 0) throw new Error(plan.rejected[0].reason);
        await this.withRetry(
          () => this.transaction(async (trx) => {
            for (const table of plan.tables) {
              if (table.truncate) await this.applyTruncate(trx, table);
              await this.applyChanges(trx, table, table.changes);
            }
            await trx('ficus_cdc_dead_letter').where('id', letter.id).delete();
          }),
          isTransientDbError,
        );
        replayed++;
      } catch (err) {
        if (isTransientDbError(err)) throw this.sinkError(err);
        await this.db('ficus_cdc_dead_letter').where('id', letter.id).update({ error: errorMessage(err), error_code: errorCode(err), attempts: this.db.raw('attempts + 1') });
        failed++;
      }
    }
    this.deps.logger?.info({ sink: this.name, replayed, failed }, 'dead letters replayed');
    return { replayed, failed };
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  async apply(events: readonly ChangeEvent[]): Promise<void> {
    if (events.length === 0) return;
    const started = performance.now();
    const batch = segmentBatch(events, this.mappings);
    await this.withRetry(() => this.loadTargets(), isTransientDbError).catch((err: unknown) => {
      throw err instanceof FicusError ? err : this.sinkError(err);
    });
    // 1. The whole batch in one transaction; transient errors retried as a whole.
    try {
      // A snapshot COPY that met existing keys lost its transaction; run again, it upserts then.
      await this.withRetry(() => this.transaction((trx) => this.applyBatch(trx, batch)), (err) => isTransientDbError(err) || err instanceof SnapshotCopyConflict);
    } catch (err) {
      if (isTransientDbError(err)) throw this.sinkError(err);
      if (isSchemaError(err)) throw this.schemaError(err);
      // 2. A data error somewhere: apply event by event, parking the ones that keep failing.
      this.deps.logger?.warn({ sink: this.name, err: errorMessage(err) }, 'batch failed on a data error; applying event by event');
      // The sink's columns may have changed under us (a column widened): describe them again.
      this.targets = null;
      await this.withRetry(() => this.loadTargets(), isTransientDbError).catch((e: unknown) => {
        throw e instanceof FicusError ? e : this.sinkError(e);
      });
      await this.applyOneByOne(events, planBatch(events, this.mappings));
    }
    this.metrics?.events.inc({ sink: this.name }, batch.eventCount);
    this.metrics?.batchSeconds.observe({ sink: this.name }, (performance.now() - started) / 1000);
  }

  private sinkError(err: unknown): FicusError {
    return new FicusError('FICUS_ERR_CDC_SINK', [this.name], { cause: err });
  }

  /**
   * The sink's schema no longer fits the mapping (a column or table dropped, a privilege revoked):
   * every event would fail alike, so nothing is parked; the batch fails until someone fixes the
   * schema, and the table descriptions are read again on the next attempt.
   */
  private schemaError(err: unknown): FicusError {
    this.targets = null;
    return new FicusError('FICUS_ERR_CDC_SINK_SCHEMA', [this.name, 'a mapped table', errorMessage(err)], { cause: err });
  }

  private async withRetry<T>(fn: () => Promise<T>, canRetry: (err: unknown) => boolean): Promise<T> {
    return retry(fn, this.policy, {
      isRetriable: canRetry,
      ...(this.deps.random ? { random: this.deps.random } : {}),
      ...(this.deps.sleep ? { sleep: this.deps.sleep } : {}),
      onRetry: (err, attempt, delayMs) => this.deps.logger?.warn({ sink: this.name, attempt, delayMs, err: errorMessage(err) }, 'sink write failed; retrying'),
    });
  }

  private async transaction(body: (trx: Knex.Transaction) => Promise<void>): Promise<void> {
    await this.db.transaction(async (trx) => {
      await body(trx);
      await this.deps.beforeCommit?.(trx);
    });
  }

  /** Reads each sink table's key and column types once (they decide how values are written). */
  private async loadTargets(): Promise<void> {
    if (this.targets) return;
    const targets = new Map<string, TargetTable>();
    const conn = await this.db.client.acquireConnection();
    try {
      for (const m of this.model.tables) {
        const info = await describeTable(conn, m.to);
        if (!info) throw new FicusError('FICUS_ERR_CDC_SINK_SCHEMA', [this.name, tableKey(m.to), 'the table does not exist']);
        const keyColumns = m.keyColumns.map((k) => m.columns.find((c) => c.from === k)?.to ?? k);
        const source = this.deps.sourceColumns?.get(tableKey(m.from))?.columns;
        const types = new Map<string, ColumnType>();
        const sqlTypes = new Map<string, string>();
        const sinkTypeOids = new Map<string, number>();
        let hasArrayColumn = false;
        for (const c of m.columns) {
          const own = info.columns.find((x) => x.name === c.to);
          if (!own) throw new FicusError('FICUS_ERR_CDC_SINK_SCHEMA', [this.name, tableKey(m.to), `column "${c.to}" does not exist`]);
          const t = source?.find((x) => x.name === c.from) ?? own;
          types.set(c.to, { typeOid: t.typeOid, typmod: t.typmod, elemOid: t.elemOid });
          sqlTypes.set(c.to, own.typeName);
          sinkTypeOids.set(c.to, own.typeOid);
          if (own.typeName.endsWith(']')) hasArrayColumn = true;
        }
        targets.set(tableKey(m.to), { mapping: m, sql: qualified(m.to), keyColumns, columns: m.columns.map((c) => c.to), types, sinkTypeOids, sqlTypes, hasArrayColumn });
      }
    } finally {
      await this.db.client.releaseConnection(conn);
    }
    this.targets = targets;
  }

  private target(plan: TablePlan): TargetTable {
    return this.targetOf(plan.target);
  }

  private targetOf(name: string): TargetTable {
    const t = this.targets?.get(name);
    if (!t) throw new Error(`sink ${this.name}: no target info for ${name}`);
    return t;
  }

  /** The batch's runs in source order, then the sink's position, all in the caller's transaction. */
  private async applyBatch(trx: Knex.Transaction, batch: SegmentedBatch): Promise<void> {
    const position = batch.maxPosition && { sink: this.name, sourceId: this.deps.sourceId, position: batch.maxPosition, events: batch.eventCount, lastEventTsMs: batch.lastEventTsMs };
    // A batch of snapshot rows only (the snapshot's own batches): the writer stores the position.
    const handOver = batch.segments.length === 1 ? position : null;
    let stored = false;
    for (const s of batch.segments) {
      if (s.kind === 'snapshot') stored = await this.snapshots.write(trx, s.events, handOver);
      else await this.applyPlanned(trx, s.plan);
    }
    if (position && !stored) await this.storePosition(trx, position.position, position.events, position.lastEventTsMs);
  }

  /** The general path: truncates and row changes under the per-row LSN guard, rejected events parked. */
  private async applyPlanned(trx: Knex.Transaction, plan: BatchPlan): Promise<void> {
    for (const table of plan.tables) {
      if (table.truncate) await this.applyTruncate(trx, table);
      await this.applyChanges(trx, table, table.changes);
    }
    for (const r of plan.rejected) await this.insertDeadLetter(trx, r.event, tableKey(r.mapping.to), null, r.reason, null, 1);
    if (plan.rejected.length > 0) this.metrics?.deadLetters.inc({ sink: this.name }, plan.rejected.length);
  }

  /** Truncates the table unless a newer truncate was already applied, and forgets its row positions. */
  private async applyTruncate(trx: Knex.Transaction, table: TablePlan): Promise<void> {
    const t = table.truncate;
    if (!t) return;
    const won = await trx.raw<{ rows: unknown[] }>(
      `insert into ficus_cdc_table_position as tp (target_table, truncated_lsn, truncated_seq) values (?, ?, ?)
       on conflict (target_table) do update set truncated_lsn = excluded.truncated_lsn, truncated_seq = excluded.truncated_seq
       where (tp.truncated_lsn, tp.truncated_seq) < (excluded.truncated_lsn, excluded.truncated_seq)
       returning 1`,
      [table.target, t.position.lsn, t.position.seq],
    );
    if (won.rows.length === 0) return; // a replay of a truncate already applied (or an older one)
    await trx.raw(`truncate table ${this.target(table).sql}`);
    await trx('ficus_cdc_row_position').where('target_table', table.target).delete();
  }

  /**
   * The LSN guard, then the writes:
   * 1. drop changes at or before the table's last truncate, and those committed before the
   *    table's latest snapshot (it holds them; see SnapshotWriter);
   * 2. record each row's new position in ficus_cdc_row_position only where it is newer than the
   *    stored one; the RETURNING list is exactly the changes that win (a replayed or older event
   *    loses, also against a later delete, whose position stays recorded);
   * 3. write the winners in source order, consecutive changes of the same shape in one statement.
   */
  private async applyChanges(trx: Knex.Transaction, table: TablePlan, changes: readonly RowChange[]): Promise<void> {
    if (changes.length === 0) return;
    const target = this.target(table);
    if (this.canApplyInOneStatement(target, changes)) {
      await this.applyInOneStatement(trx, table.target, target, changes);
      return;
    }
    // 1.
    const tp = await trx('ficus_cdc_table_position').where('target_table', table.target).first<{ truncated_lsn: string; truncated_seq: string; snapshot_lsn: string | null } | undefined>('truncated_lsn', 'truncated_seq', 'snapshot_lsn');
    let candidates = changes;
    if (tp) {
      const cut = await trx.raw<{ rows: Array<{ i: number }> }>(
        `select i::int from unnest(?::pg_lsn[], ?::bigint[]) with ordinality as c(lsn, seq, i)
          where (c.lsn, c.seq) > (?::pg_lsn, ?::bigint) and (?::pg_lsn is null or c.lsn >= ?::pg_lsn)`,
        [changes.map((c) => c.position.lsn), changes.map((c) => c.position.seq), tp.truncated_lsn, tp.truncated_seq, tp.snapshot_lsn, tp.snapshot_lsn],
      );
      const keep = new Set(cut.rows.map((r) => r.i - 1));
      candidates = changes.filter((_, i) => keep.has(i));
      if (candidates.length === 0) return;
    }
    // 2.
    const won = await trx.raw<{ rows: Array<{ row_key: string }> }>(
      `insert into ficus_cdc_row_position as rp (target_table, row_key, lsn, seq, deleted)
       select ?, k, l, s, d from unnest(?::text[], ?::pg_lsn[], ?::bigint[], ?::boolean[]) as u(k, l, s, d)
       on conflict (target_table, row_key) do update set lsn = excluded.lsn, seq = excluded.seq, deleted = excluded.deleted
       where (rp.lsn, rp.seq) < (excluded.lsn, excluded.seq)
       returning row_key`,
      [table.target, candidates.map((c) => c.rowKey), candidates.map((c) => c.position.lsn), candidates.map((c) => c.position.seq), candidates.map((c) => c.kind === 'delete')],
    );
    const winners = new Set(won.rows.map((r) => r.row_key));
    const toWrite = candidates.filter((c) => winners.has(c.rowKey));
    // 3.
    let run: RowChange[] = [];
    const flush = async () => {
      if (run.length === 0) return;
      if (run[0].kind === 'delete') await this.deleteRows(trx, target, run);
      else await this.upsertRows(trx, target, run as UpsertChange[]);
      run = [];
    };
    for (const c of toWrite) {
      if (run.length > 0 && shape(run[0]) !== shape(c)) await flush();
      run.push(c);
    }
    await flush();
  }

  /** The common case: all changes of one shape (all full upserts, or all deletes) and no array columns. */
  private canApplyInOneStatement(target: TargetTable, changes: readonly RowChange[]): boolean {
    if (target.hasArrayColumn) return false;
    // Full upserts all write every mapped column, so kind and size decide the shape.
    const kind = changes[0].kind;
    const full = target.columns.length;
    return changes.every((c) => c.kind === kind && (c.kind === 'delete' || c.values.size === full));
  }

  /**
   * Steps 1-3 of `applyChanges` as ONE statement for the common case, so a batch costs one round
   * trip per table: the truncate cut and the guard in CTEs, then the write of the winners only, in
   * source order. Every value travels in one array per column through unnest, so the statement
   * text is the same for any batch size.
   */
  private async applyInOneStatement(trx: Knex.Transaction, targetName: string, target: TargetTable, changes: readonly RowChange[]): Promise<void> {
    const deleting = changes[0].kind === 'delete';
    const cols = deleting ? [...target.keyColumns] : target.columns;
    const value = (c: RowChange, col: string) => toSqlValue((c.kind === 'upsert' ? c.values.get(col) : c.keyValues.get(col)) ?? null, target.types.get(col));
    const arrays = cols.map((col) => changes.map((c) => value(c, col)));
    const aliases = cols.map((_, i) => `c${i}`);
    // u: the batch as rows (one array per column); cut: the table's last truncate.
    const prelude = `
      with u as materialized (
        select * from unnest(?::text[], ?::pg_lsn[], ?::bigint[], ${cols.map(() => '?::text[]').join(', ')})
          with ordinality as x(_rk, _lsn, _seq, ${aliases.join(', ')}, _ord)),
      cut as (select truncated_lsn, truncated_seq, snapshot_lsn from ficus_cdc_table_position where target_table = ?),`;
    const preludeBindings = [changes.map((c) => c.rowKey), changes.map((c) => c.position.lsn), changes.map((c) => c.position.seq), ...arrays, targetName];
    const head = `${prelude}
      won as (
        insert into ficus_cdc_row_position as rp (target_table, row_key, lsn, seq, deleted)
        select ?, u._rk, u._lsn, u._seq, ${deleting ? 'true' : 'false'} from u
         where not exists (select 1 from cut where (u._lsn, u._seq) <= (cut.truncated_lsn, cut.truncated_seq) or u._lsn < cut.snapshot_lsn)
        on conflict (target_table, row_key) do update set lsn = excluded.lsn, seq = excluded.seq, deleted = excluded.deleted
        where (rp.lsn, rp.seq) < (excluded.lsn, excluded.seq)
        returning row_key)`;
    const bindings = [...preludeBindings, targetName];
    // Values travel as text and are cast only in the final select, i.e. only for the guard's
    // winners: a stale event whose value the column would reject is dropped, not failed.
    const typed = cols.map((c, i) => `u.${aliases[i]}::${target.sqlTypes.get(c)}`).join(', ');
    let write: string;
    if (deleting) {
      write = `delete from ${target.sql} where (${cols.map(quoteIdent).join(', ')}) in (
        select ${typed} from u where u._rk in (select row_key from won))`;
    } else {
      const update = cols.filter((c) => !target.keyColumns.includes(c));
      const set = update.map((c) => `${quoteIdent(c)} = excluded.${quoteIdent(c)}`).join(', ');
      write = `insert into ${target.sql} (${cols.map(quoteIdent).join(', ')})
        select ${typed} from u where u._rk in (select row_key from won) order by u._ord
        on conflict (${target.keyColumns.map(quoteIdent).join(', ')}) ${update.length > 0 ? `do update set ${set}` : 'do nothing'}`;
    }
    await trx.raw(`${head} ${write}`, bindings as unknown as Knex.RawBinding[]);
  }

  private async deleteRows(trx: Knex.Transaction, target: TargetTable, rows: readonly RowChange[]): Promise<void> {
    const cols = target.keyColumns;
    if (!target.hasArrayColumn) {
      const arrays = cols.map((c) => rows.map((r) => toSqlValue(r.keyValues.get(c) ?? null, target.types.get(c))));
      await trx.raw(
        `delete from ${target.sql} where (${cols.map(quoteIdent).join(', ')}) in (select * from unnest(${cols.map((c) => `?::${target.sqlTypes.get(c)}[]`).join(', ')}))`,
        arrays as unknown as Knex.RawBinding[],
      );
      return;
    }
    const per = Math.max(1, Math.floor(MAX_PARAMS / cols.length));
    for (let i = 0; i < rows.length; i += per) {
      const tuples = rows.slice(i, i + per).map((r) => cols.map((c) => toSqlValue(r.keyValues.get(c) ?? null, target.types.get(c))));
      await trx.raw(
        `delete from ${target.sql} where (${cols.map(quoteIdent).join(', ')}) in (${tuples.map((t) => `(${t.map(() => '?').join(', ')})`).join(', ')})`,
        tuples.flat() as Knex.RawBinding[],
      );
    }
  }

  private async upsertRows(trx: Knex.Transaction, target: TargetTable, rows: readonly UpsertChange[]): Promise<void> {
    const cols = [...rows[0].values.keys()];
    if (cols.length < target.columns.length) {
      await this.updatePartialRows(trx, target, rows, cols);
      return;
    }
    const update = cols.filter((c) => !target.keyColumns.includes(c));
    const conflict = target.keyColumns.map(quoteIdent).join(', ');
    const set = update.map((c) => `${quoteIdent(c)} = excluded.${quoteIdent(c)}`).join(', ');
    const onConflict = `on conflict (${conflict}) ${update.length > 0 ? `do update set ${set}` : 'do nothing'}`;
    if (!target.hasArrayColumn) {
      // The fast path: one typed array per column and a single unnest, so the statement text and
      // its parameter count stay the same whatever the batch size (Postgres parses it once, fast).
      const arrays = cols.map((c) => rows.map((r) => toSqlValue(r.values.get(c) ?? null, target.types.get(c))));
      await trx.raw(
        `insert into ${target.sql} (${cols.map(quoteIdent).join(', ')})
         select * from unnest(${cols.map((c) => `?::${target.sqlTypes.get(c)}[]`).join(', ')}) ${onConflict}`,
        arrays as unknown as Knex.RawBinding[],
      );
      return;
    }
    const per = Math.max(1, Math.floor(MAX_PARAMS / cols.length));
    for (let i = 0; i < rows.length; i += per) {
      const chunk = rows.slice(i, i + per);
      const bindings: SqlValue[] = [];
      const tuples: string[] = [];
      for (const r of chunk) {
        for (const c of cols) bindings.push(toSqlValue(r.values.get(c) ?? null, target.types.get(c)));
        tuples.push(`(${cols.map(() => '?').join(', ')})`);
      }
      await trx.raw(`insert into ${target.sql} (${cols.map(quoteIdent).join(', ')}) values ${tuples.join(', ')} ${onConflict}`, bindings as Knex.RawBinding[]);
    }
  }

  /**
   * Rows that lack a column (an unchanged TOAST value the WAL did not carry) cannot go through
   * INSERT ... ON CONFLICT: Postgres checks NOT NULL on the proposed row before it finds the
   * conflict. They are rare, so each is an UPDATE of the known columns, and an INSERT only when
   * the row is not there (then the missing value is truly unknown; a NOT NULL column makes it a
   * dead letter, which is right: the sink cannot invent the value).
   */
  private async updatePartialRows(trx: Knex.Transaction, target: TargetTable, rows: readonly UpsertChange[], cols: readonly string[]): Promise<void> {
    const update = cols.filter((c) => !target.keyColumns.includes(c));
    const value = (r: UpsertChange, c: string) => toSqlValue(r.values.get(c) ?? null, target.types.get(c));
    const where = target.keyColumns.map((k) => `${quoteIdent(k)} = ?`).join(' and ');
    for (const r of rows) {
      const keys = target.keyColumns.map((k) => value(r, k));
      let updated = 0;
      if (update.length > 0) {
        const res = await trx.raw<{ rowCount: number }>(
          `update ${target.sql} set ${update.map((c) => `${quoteIdent(c)} = ?`).join(', ')} where ${where}`,
          [...update.map((c) => value(r, c)), ...keys] as Knex.RawBinding[],
        );
        updated = res.rowCount;
      } else {
        const res = await trx.raw<{ rows: unknown[] }>(`select 1 from ${target.sql} where ${where}`, keys as Knex.RawBinding[]);
        updated = res.rows.length;
      }
      if (updated === 0) {
        await trx.raw(`insert into ${target.sql} (${cols.map(quoteIdent).join(', ')}) values (${cols.map(() => '?').join(', ')})`, cols.map((c) => value(r, c)) as Knex.RawBinding[]);
      }
    }
  }

  private async storePosition(trx: Knex.Transaction, position: EventPosition, events: number, lastEventTsMs: number | null): Promise<void> {
    await trx.raw(POSITION_UPSERT_SQL, positionBindings({ sink: this.name, sourceId: this.deps.sourceId, position, events, lastEventTsMs }));
  }

  private async insertDeadLetter(trx: Knex.Transaction, event: ChangeEvent, target: string, rowKey: string | null, error: string, code: string | null, attempts: number): Promise<void> {
    await trx('ficus_cdc_dead_letter').insert({
      sink: this.name,
      source_id: this.deps.sourceId,
      source_table: `${event.schema}.${event.table}`,
      target_table: target,
      row_key: rowKey,
      op: event.value?.op ?? 'tombstone',
      lsn: event.position.lsn,
      seq: event.position.seq,
      // encodeJson keeps int8 exact; jsonb then stores the event as the transports carry it.
      event: encodeJson(event),
      error,
      error_code: code,
      attempts,
    });
  }

  /**
   * The slow path after a data error: each event in its own transaction
   * (guard and position included), retried with backoff; one that still fails for a data reason
   * becomes a dead letter, the others are applied. A transient error that outlasts the retries
   * stops the batch instead (the database is down: parking would be wrong).
   */
  private async applyOneByOne(events: readonly ChangeEvent[], plan: BatchPlan): Promise<void> {
    const attempts = this.policy.retries + 1;
    // The original events in source order, not the batch's collapsed changes: each intermediate
    // state was valid at the source, so e.g. two rows swapping a unique value still apply.
    for (const event of events) {
      const single = planBatch([event], this.mappings);
      for (const table of single.tables) {
        if (table.truncate) {
          const t = table.truncate;
          await this.isolate(
            (trx) => this.applyTruncate(trx, table).then(() => this.storePosition(trx, t.position, 0, null)),
            (trx, err) => this.insertDeadLetter(trx, t.event, table.target, null, errorMessage(err), errorCode(err), attempts),
          );
        }
        for (const change of table.changes) {
          await this.isolate(
            (trx) => this.applyChanges(trx, table, [change]).then(() => this.storePosition(trx, change.position, 0, null)),
            (trx, err) => this.insertDeadLetter(trx, change.event, table.target, change.rowKey, errorMessage(err), errorCode(err), attempts),
          );
        }
      }
    }
    // Rejected events, the position and the event count for the batch as a whole.
    await this.withRetry(
      () => this.transaction(async (trx) => {
        for (const r of plan.rejected) await this.insertDeadLetter(trx, r.event, tableKey(r.mapping.to), null, r.reason, null, 1);
        if (plan.maxPosition) await this.storePosition(trx, plan.maxPosition, plan.eventCount, plan.lastEventTsMs);
      }),
      isTransientDbError,
    ).catch((err: unknown) => {
      throw this.sinkError(err);
    });
    if (plan.rejected.length > 0) this.metrics?.deadLetters.inc({ sink: this.name }, plan.rejected.length);
  }

  private async isolate(apply: (trx: Knex.Transaction) => Promise<void>, park: (trx: Knex.Transaction, err: unknown) => Promise<void>): Promise<void> {
    try {
      // Every error is retried here: a data error may be a passing one (a lock timeout, a
      // referenced row another sink has not written yet); only one that keeps failing is parked.
      await this.withRetry(() => this.transaction(apply), () => true);
    } catch (err) {
      if (isTransientDbError(err)) throw this.sinkError(err);
      if (isSchemaError(err)) throw this.schemaError(err);
      this.deps.logger?.error({ sink: this.name, err: errorMessage(err) }, 'event parked as a dead letter');
      await this.withRetry(() => this.transaction((trx) => park(trx, err)), isTransientDbError).catch((e: unknown) => {
        throw this.sinkError(e);
      });
      this.metrics?.deadLetters.inc({ sink: this.name });
    }
  }
}

/** Changes that can share one statement: deletes, or upserts writing the same columns. */
function shape(c: RowChange): string {
  return c.kind === 'delete' ? 'd' : `u:${[...c.values.keys()].join('\u0000')}`;
}
