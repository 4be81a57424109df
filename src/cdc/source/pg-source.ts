import pg from 'pg';
import type { Logger } from '../../observability/logger.js';
import type { Registry } from '../../observability/metrics.js';
import { Counter, Gauge } from '../../observability/metrics.js';
import type { Clock } from '../../util/clock.js';
import type { SourceCatalog } from '../config/check-databases.js';
import type { SourceModel } from '../config/cdc-model.js';
import { qualified, quoteIdent, tableKey } from '../config/cdc-model.js';
import type { ChangeEvent } from '../event/change-event.js';
import type { EnvelopeBuilder, TableShape, TxnFacts } from '../event/envelope.js';
import { compareLsn, lsnToBigInt } from '../event/position.js';
import { BUILTIN_ARRAY_ELEM } from '../event/type-mapping.js';
import type { PgoutputMessage, RelationMessage } from './pgoutput-decoder.js';
import { ReplicationConnection } from './replication-connection.js';
import type { SnapshotProgress } from './snapshot-reader.js';
import { SnapshotAborted, readSnapshot } from './snapshot-reader.js';

/** A batch for the transport plus the slot position that may be acknowledged once it is durable. */
export interface SourceBatch {
  readonly events: ChangeEvent[];
  /** End LSN of the last transaction completed in this batch (or a heartbeat's LSN); null mid-transaction. */
  readonly ackLsn: string | null;
  /** Commit time of the newest transaction in the batch, for lag in seconds. */
  readonly commitTimeMs: number | null;
}

export interface PgSourceDeps {
  readonly model: SourceModel;
  readonly catalog: SourceCatalog;
  readonly envelope: EnvelopeBuilder;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly clock: Clock;
  /**
   * Hands a batch downstream and resolves when it is durable there (direct: sinks committed;
   * redis/kafka: broker acked). Only then does the source acknowledge `ackLsn` to Postgres.
   */
  readonly deliver: (batch: SourceBatch) => Promise<void>;
  readonly onSnapshotProgress?: (p: SnapshotProgress) => void;
}

export const HEARTBEAT_PREFIX = 'ficus-heartbeat';
const STATE_TABLE = 'ficus_cdc_snapshot';
/** Decoded-but-unprocessed messages above which the socket is paused (bounded memory). */
const HIGH_WATER = 20_000;
const LOW_WATER = 2_000;

export interface SourceStatus {
  readonly slot: string;
  readonly phase: 'starting' | 'snapshot' | 'streaming' | 'stopped';
  readonly ackedLsn: string | null;
  readonly receivedLsn: string | null;
  readonly lagBytes: number | null;
  readonly lagSeconds: number | null;
  readonly snapshot: readonly SnapshotProgress[];
}

/**
 * The source: publication and slot (created if missing, never dropped), a snapshot consistent with
 * the slot, then the pgoutput stream. Steps, in order:
 *  1. ensure the publication covers the configured tables;
 *  2. ensure the slot; a new slot exports the snapshot its consistent point belongs to;
 *  3. snapshot when asked (initial: new slot or an interrupted snapshot; always: every start);
 *  4. stream from the slot's confirmed position, acking only what `deliver` reported durable;
 *  5. heartbeat messages keep the slot moving when the captured tables are quiet.
 */
export class PgSource {
  private repl: ReplicationConnection | null = null;
  private side: pg.Client | null = null;
  private readonly queue: Array<{ walStart: string; msg: PgoutputMessage }> = [];
  private paused = false;
  private wake: (() => void) | null = null;
  private ended: { err: Error | null } | null = null;
  private stopping = false;
  private ackedLsn: string | null = null;
  private receivedLsn: string | null = null;
  private oldestUnackedCommitMs: number | null = null;
  private phase: SourceStatus['phase'] = 'starting';
  private readonly snapshotProgress = new Map<string, SnapshotProgress>();
  private readonly relations = new Map<number, TableShape | null>();
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private lastCommitLsn: string | null = null;
  private lagBytes: number | null = null;
  private readonly metrics;

  constructor(private readonly d: PgSourceDeps) {
    const r = d.registry;
    this.metrics = {
      events: new Counter({ name: 'ficus_cdc_events_total', help: 'Change events emitted by the source', labelNames: ['table', 'op'], registers: [r] }),
      snapshotRows: new Counter({ name: 'ficus_cdc_snapshot_rows_total', help: 'Rows read by the snapshot', labelNames: ['table'], registers: [r] }),
      lagBytes: new Gauge({ name: 'ficus_cdc_slot_lag_bytes', help: 'WAL bytes between the server\'s current position and the slot\'s acknowledged position', registers: [r] }),
      lagSeconds: new Gauge({ name: 'ficus_cdc_slot_lag_seconds', help: 'Age of the oldest change not yet acknowledged (0 when caught up)', registers: [r] }),
      acked: new Gauge({ name: 'ficus_cdc_acked_lsn_bytes', help: 'Slot position acknowledged to Postgres, as a byte offset', registers: [r] }),
    };
  }

  status(): SourceStatus {
    return {
      slot: this.d.model.slot,
      phase: this.phase,
      ackedLsn: this.ackedLsn,
      receivedLsn: this.receivedLsn,
      lagBytes: this.lagBytes,
      lagSeconds: this.lagSecondsNow(),
      snapshot: [...this.snapshotProgress.values()],
    };
  }

  private lagSecondsNow(): number {
    return this.oldestUnackedCommitMs === null ? 0 : Math.max(0, (this.d.clock.now() - this.oldestUnackedCommitMs) / 1000);
  }

  /** Runs until `stop()` (resolves) or the replication connection fails (rejects; the caller retries). */
  async run(): Promise<void> {
    try {
      await this.runOnce();
    } catch (err) {
      // A stop during the snapshot ends it early; it stays marked incomplete and is repeated.
      if (err instanceof SnapshotAborted) return;
      throw err;
    }
  }

  private async runOnce(): Promise<void> {
    const m = this.d.model;
    this.stopping = false;
    this.ended = null;
    this.queue.length = 0;
    this.relations.clear();
    this.side = new pg.Client({ connectionString: m.url });
    this.side.on('error', () => {});
    await this.side.connect();
    try {
      // 1. Publication.
      await this.ensurePublication(this.side);
      await this.side.query(`create table if not exists ${STATE_TABLE} (slot text primary key, consistent_point pg_lsn not null, completed_at timestamptz)`);
      // 2. Slot.
      const existing = await this.side.query<{ plugin: string; confirmed_flush_lsn: string | null }>('select plugin, confirmed_flush_lsn::text from pg_replication_slots where slot_name = $1', [m.slot]);
      this.repl = await ReplicationConnection.open(m.url);
      if (existing.rows.length === 0) {
        const exportSnapshot = m.snapshot !== 'never';
        // Remember that a snapshot is owed BEFORE the slot exists: a crash between creating the
        // slot and finishing the snapshot must repeat the snapshot (the slot alone cannot tell).
        if (exportSnapshot) {
          await this.side.query(`insert into ${STATE_TABLE} (slot, consistent_point) values ($1, '0/0') on conflict (slot) do update set consistent_point = excluded.consistent_point, completed_at = null`, [m.slot]);
        }
        const created = await this.repl.createSlot(m.slot, { exportSnapshot });
        this.d.logger.info({ slot: m.slot, consistentPoint: created.consistentPoint }, 'created replication slot');
        if (exportSnapshot && created.snapshotName) {
          // 3a. Snapshot through the slot's own exported snapshot.
          await this.side.query(`update ${STATE_TABLE} set consistent_point = $2 where slot = $1`, [m.slot, created.consistentPoint]);
          await this.snapshot(created.snapshotName, created.consistentPoint);
          await this.side.query(`update ${STATE_TABLE} set completed_at = now() where slot = $1`, [m.slot]);
        }
      } else {
        if (existing.rows[0].plugin !== 'pgoutput') throw new Error(`slot ${m.slot} uses plugin ${existing.rows[0].plugin}, not pgoutput`);
        const state = await this.side.query<{ completed_at: Date | null }>(`select completed_at from ${STATE_TABLE} where slot = $1`, [m.slot]);
        const interrupted = state.rows.length > 0 && state.rows[0].completed_at === null;
        if (m.snapshot === 'always' || (m.snapshot === 'initial' && interrupted)) {
          // 3b. The slot's exported snapshot is gone: take a fresh consistent one from a temporary
          // slot. Its consistent point is ahead of our slot's position; the stream replays the
          // overlap and the sinks' LSN guard drops what the snapshot already holds.
          await this.snapshotViaTemporarySlot();
          await this.side.query(`insert into ${STATE_TABLE} (slot, consistent_point, completed_at) values ($1, '0/0', now()) on conflict (slot) do update set completed_at = now()`, [m.slot]);
        }
      }
      // 4. Stream from the slot's confirmed position (explicit, never the library's idea of "last").
      const pos = await this.side.query<{ lsn: string }>('select confirmed_flush_lsn::text as lsn from pg_replication_slots where slot_name = $1', [m.slot]);
      const startLsn = pos.rows[0]?.lsn ?? '0/0';
      this.ackedLsn = startLsn;
      this.phase = 'streaming';
      this.d.logger.info({ slot: m.slot, startLsn }, 'streaming from slot');
      this.repl.start(m.slot, m.publication, startLsn, {
        onMessage: (walStart, msg) => {
          this.queue.push({ walStart, msg });
          if (!this.paused && this.queue.length > HIGH_WATER) { this.paused = true; this.repl?.pause(); }
          this.wake?.();
        },
        onKeepalive: (walEnd, reply) => {
          this.receivedLsn = walEnd;
          if (reply && this.ackedLsn) this.repl?.sendStatus(this.ackedLsn);
        },
        onEnd: (err) => { this.ended = { err }; this.wake?.(); },
      });
      this.startHeartbeat();
      await this.streamLoop();
    } finally {
      this.phase = 'stopped';
      if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
      this.heartbeatTimer = null;
      await this.repl?.close();
      this.repl = null;
      await this.side?.end().catch(() => {});
      this.side = null;
    }
  }

  /** Asks the loop to finish the batch in hand, deliver and ack it, then end. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
  }

  private async ensurePublication(c: pg.Client): Promise<void> {
    const m = this.d.model;
    const pub = await c.query<{ puballtables: boolean }>('select puballtables from pg_publication where pubname = $1', [m.publication]);
    const list = m.tables.map(qualified).join(', ');
    if (pub.rows.length === 0) {
      await c.query(`CREATE PUBLICATION ${quoteIdent(m.publication)} FOR TABLE ${list}`);
      this.d.logger.info({ publication: m.publication, tables: m.tables.map(tableKey) }, 'created publication');
      return;
    }
    if (pub.rows[0].puballtables) return;
    const have = await c.query<{ n: string }>("select schemaname || '.' || tablename as n from pg_publication_tables where pubname = $1", [m.publication]);
    const missing = m.tables.filter((t) => !have.rows.some((r) => r.n === tableKey(t)));
    if (missing.length > 0) {
      await c.query(`ALTER PUBLICATION ${quoteIdent(m.publication)} ADD TABLE ${missing.map(qualified).join(', ')}`);
      this.d.logger.info({ publication: m.publication, added: missing.map(tableKey) }, 'added tables to publication');
    }
  }

  private shapes(): TableShape[] {
    return this.d.model.tables.map((t) => {
      const info = this.d.catalog.get(tableKey(t));
      if (!info) throw new Error(`table ${tableKey(t)} missing from the start-up catalog`);
      return { schema: t.schema, table: t.table, columns: info.columns, keyColumns: info.keyColumns };
    });
  }

  private async snapshot(snapshotName: string, consistentPoint: string): Promise<void> {
    this.phase = 'snapshot';
    // A snapshot repeated after a failure (same process) counts its rows from zero again.
    this.snapshotProgress.clear();
    const started = this.d.clock.monotonic();
    const rows = await readSnapshot({
      url: this.d.model.url,
      snapshotName,
      consistentPoint,
      tables: this.shapes(),
      envelope: this.d.envelope,
      batchSize: this.d.model.snapshotBatchSize,
      batchBytes: this.d.model.snapshotBatchBytes,
      now: () => this.d.clock.now(),
      deliver: (events) => this.d.deliver({ events, ackLsn: null, commitTimeMs: null }),
      shouldStop: () => this.stopping,
      onProgress: (p) => {
        const before = this.snapshotProgress.get(p.table)?.rows ?? 0;
        this.metrics.snapshotRows.inc({ table: p.table }, p.rows - before);
        this.snapshotProgress.set(p.table, p);
        this.d.onSnapshotProgress?.(p);
      },
    });
    this.d.logger.info({ rows, seconds: (this.d.clock.monotonic() - started) / 1000 }, 'snapshot complete');
  }

  private async snapshotViaTemporarySlot(): Promise<void> {
    const temp = await ReplicationConnection.open(this.d.model.url);
    try {
      const name = `${this.d.model.slot}_snap_${process.pid}`.slice(0, 63);
      const created = await temp.createSlot(name, { exportSnapshot: true, temporary: true });
      await this.snapshot(created.snapshotName as string, created.consistentPoint);
    } finally {
      await temp.close(); // a temporary slot goes with its connection
    }
  }

  private startHeartbeat(): void {
    const ms = this.d.model.heartbeatMs;
    const beat = async () => {
      try {
        // A non-transactional logical message: it travels through the slot even when the captured
        // tables are quiet, giving us a position we may acknowledge once everything before it is durable.
        await this.side?.query('select pg_logical_emit_message(false, $1, $2)', [HEARTBEAT_PREFIX, String(this.d.clock.now())]);
        const r = await this.side?.query<{ lag: string | null }>('select (pg_current_wal_lsn() - confirmed_flush_lsn)::text as lag from pg_replication_slots where slot_name = $1', [this.d.model.slot]);
        const lag = r?.rows[0]?.lag;
        if (lag != null) { this.lagBytes = Number(lag); this.metrics.lagBytes.set(this.lagBytes); }
        this.metrics.lagSeconds.set(this.lagSecondsNow());
      } catch (err) {
        this.d.logger.warn({ err: (err as Error).message }, 'heartbeat failed');
      }
    };
    if (ms > 0) this.heartbeatTimer = setInterval(() => void beat(), ms);
    void beat();
  }

  private shapeFor(rel: RelationMessage): TableShape | null {
    const info = this.d.catalog.get(`${rel.schema}.${rel.table}`);
    if (!info) return null; // not a configured table (a shared publication)
    return {
      schema: rel.schema,
      table: rel.table,
      columns: rel.columns.map((c) => ({
        name: c.name, typeOid: c.typeOid, typmod: c.typmod,
        elemOid: info.columns.find((x) => x.name === c.name)?.elemOid || BUILTIN_ARRAY_ELEM[c.typeOid] || 0,
      })),
      keyColumns: info.keyColumns.length > 0 ? info.keyColumns : rel.columns.filter((c) => c.isKey).map((c) => c.name),
    };
  }

  private async next(): Promise<{ walStart: string; msg: PgoutputMessage } | null> {
    while (this.queue.length === 0) {
      if (this.ended) {
        if (this.ended.err && !this.stopping) throw this.ended.err;
        return null;
      }
      if (this.stopping) return null;
      await new Promise<void>((r) => { this.wake = r; });
      this.wake = null;
    }
    const item = this.queue.shift() ?? null;
    if (this.paused && this.queue.length < LOW_WATER) { this.paused = false; this.repl?.resume(); }
    return item;
  }

  /** Turns the message stream into batches: flushed when full, and whenever the queue runs dry. */
  private async streamLoop(): Promise<void> {
    let batch: ChangeEvent[] = [];
    let ackLsn: string | null = null;
    let batchCommitMs: number | null = null;
    let txn: TxnFacts | null = null;
    let seq = 0;
    // One batch in flight while the next is decoded: delivery stays strictly sequential (the
    // transport's ordering needs it, and acks follow in order), but decoding overlaps the sink's work.
    let inflight: Promise<void> = Promise.resolve();
    const flush = async () => {
      if (batch.length === 0 && ackLsn === null) return;
      const b: SourceBatch = { events: batch, ackLsn, commitTimeMs: batchCommitMs };
      batch = [];
      ackLsn = null;
      batchCommitMs = null;
      await inflight;
      inflight = this.d.deliver(b).then(() => { if (b.ackLsn) this.acknowledge(b.ackLsn); });
      inflight.catch(() => {}); // observed by the next await
    };
    for (;;) {
      const item = await this.next();
      if (!item) break;
      const { walStart, msg } = item;
      this.receivedLsn = walStart;
      switch (msg.tag) {
        case 'begin':
          txn = { commitLsn: msg.finalLsn, xid: msg.xid, commitTimeMs: msg.commitTimeMs, lastCommitLsn: this.lastCommitLsn };
          seq = 0;
          if (this.oldestUnackedCommitMs === null) this.oldestUnackedCommitMs = msg.commitTimeMs;
          break;
        case 'commit':
          this.lastCommitLsn = msg.commitLsn;
          ackLsn = msg.endLsn;
          batchCommitMs = msg.commitTimeMs;
          txn = null;
          break;
        case 'relation':
          this.relations.set(msg.oid, this.shapeFor(msg));
          break;
        case 'insert':
        case 'update':
        case 'delete': {
          const shape = this.relations.get(msg.relation);
          if (!shape || !txn) break;
          const evs = msg.tag === 'insert' ? this.d.envelope.insert(shape, msg.newTuple, txn, walStart, seq)
            : msg.tag === 'update' ? this.d.envelope.update(shape, msg.oldKind, msg.oldTuple, msg.newTuple, txn, walStart, seq)
            : this.d.envelope.delete(shape, msg.oldTuple, txn, walStart, seq);
          seq += evs.length;
          for (const e of evs) { batch.push(e); if (e.value) this.metrics.events.inc({ table: `${e.schema}.${e.table}`, op: e.value.op }); }
          break;
        }
        case 'truncate': {
          if (!txn) break;
          for (const oid of msg.relations) {
            const shape = this.relations.get(oid);
            if (!shape) continue;
            const evs = this.d.envelope.truncate(shape, txn, walStart, seq);
            seq += evs.length;
            batch.push(...evs);
            this.metrics.events.inc({ table: `${shape.schema}.${shape.table}`, op: 't' });
          }
          break;
        }
        case 'message':
          // Our heartbeat outside a transaction: everything before it has been handed on.
          if (!msg.transactional && msg.prefix === HEARTBEAT_PREFIX && txn === null) ackLsn = msg.lsn;
          break;
        default:
          break;
      }
      if (batch.length >= this.d.model.batchSize || (this.queue.length === 0 && txn === null)) await flush();
    }
    // Graceful stop: deliver what is complete; a partial transaction is simply sent again on restart.
    if (txn === null) await flush();
    await inflight;
    if (txn !== null && batch.length > 0) await this.d.deliver({ events: batch, ackLsn: null, commitTimeMs: null });
    if (this.ackedLsn) this.repl?.sendStatus(this.ackedLsn);
  }

  /** Records `lsn` as durable downstream and tells Postgres (monotonic: never moves back). */
  acknowledge(lsn: string): void {
    if (this.ackedLsn && compareLsn(lsn, this.ackedLsn) <= 0) return;
    this.ackedLsn = lsn;
    this.oldestUnackedCommitMs = null;
    this.metrics.acked.set(Number(lsnToBigInt(lsn)));
    this.metrics.lagSeconds.set(0);
    this.repl?.sendStatus(lsn);
  }
}
