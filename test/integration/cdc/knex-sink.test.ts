import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Knex } from 'knex';
import type { SinkModel, TableMapping } from '../../../src/cdc/config/cdc-model.js';
import { SNAPSHOT_SEQ_BASE, UNAVAILABLE_VALUE } from '../../../src/cdc/event/change-event.js';
import type { Sink } from '../../../src/cdc/sink/knex-sink.js';
import { createSink } from '../../../src/cdc/sink/knex-sink.js';
import { runReplayDeadLettersCommand } from '../../../src/cdc/sink/replay-command.js';
import { sinkStatusFromDb } from '../../../src/cdc/sink/sink-status.js';
import { FicusError } from '../../../src/errors.js';
import type { Registry } from '../../../src/observability/metrics.js';
import { createRegistry } from '../../../src/observability/metrics.js';
import { change, deleteUser, tombstone, upsertUser } from '../../helpers/cdc-change-events.js';
import type { TestDatabase } from '../../helpers/sink-database.js';
import { createTestDatabase } from '../../helpers/sink-database.js';

const FAST_RETRY = { retries: 2, initialMs: 1, maxMs: 5, factor: 2 };

const usersMapping: TableMapping = {
  from: { schema: 'public', table: 'users' },
  to: { schema: 'public', table: 'users' },
  columns: [
    { from: 'id', to: 'id' },
    { from: 'email', to: 'email_address' },
    { from: 'name', to: 'name' },
  ],
  keyColumns: ['id'],
  at: [],
};

let db: TestDatabase;
const sinks: Sink[] = [];

async function newSink(extra: { beforeCommit?: (trx: Knex.Transaction) => Promise<void>; retries?: number; tables?: TableMapping[]; name?: string; registry?: Registry } = {}): Promise<Sink> {
  const model: SinkModel = { name: extra.name ?? 'users-service', url: db.url, tables: extra.tables ?? [usersMapping], retry: { ...FAST_RETRY, retries: extra.retries ?? FAST_RETRY.retries }, at: [] };
  const sink = await createSink(model, { sourceId: 'slot_a', ...(extra.beforeCommit ? { beforeCommit: extra.beforeCommit } : {}), ...(extra.registry ? { registry: extra.registry } : {}) });
  sinks.push(sink);
  await sink.migrate();
  return sink;
}

async function users(): Promise<Array<{ id: number; email_address: string; name: string }>> {
  return db.query('select id, email_address, name from users order by id');
}

beforeAll(async () => {
  db = await createTestDatabase('ficus_sink');
});

afterAll(async () => {
  await db.drop();
});

afterEach(async () => {
  await Promise.all(sinks.splice(0).map((s) => s.close()));
  await db.query('drop table if exists users, profiles, measurements cascade');
  await db.query(`do $$ begin if to_regclass('ficus_cdc_row_position') is not null then
    truncate ficus_cdc_row_position, ficus_cdc_sink_position, ficus_cdc_table_position, ficus_cdc_dead_letter; end if; end $$`);
});

async function createUsers(): Promise<void> {
  await db.query('create table users (id int primary key, email_address text unique, name text not null, age smallint)');
}

describe('knex sink', () => {
  it('reports an empty status for a sink database ficus has not migrated yet', async () => {
    const fresh = await createTestDatabase('ficus_sink_fresh');
    try {
      expect(await sinkStatusFromDb(fresh.url, 'users-service', 'slot_a')).toEqual({
        sink: 'users-service', sourceId: 'slot_a', position: null, appliedAt: null, lastEventTsMs: null, eventsApplied: 0, deadLetters: { count: 0, latest: null },
      });
    } finally {
      await fresh.drop();
    }
  });

  it('upserts renamed columns and stores the position with the rows', async () => {
    await createUsers();
    const sink = await newSink();
    await sink.apply([upsertUser(1, 'a@x', '0/100'), upsertUser(2, 'b@x', '0/100', 1), upsertUser(1, 'a2@x', '0/200', 0, 'u')]);
    expect(await users()).toEqual([
      { id: 1, email_address: 'a2@x', name: 'user 1' },
      { id: 2, email_address: 'b@x', name: 'user 2' },
    ]);
    const status = await sink.status();
    expect(status.position).toEqual({ lsn: '0/200', seq: 0 });
    expect(status.eventsApplied).toBe(3);
    expect(status.lastEventTsMs).toBe(1_700_000_000_000);
    expect(status.deadLetters).toEqual({ count: 0, latest: null });
    expect(await sinkStatusFromDb(db.url, 'users-service', 'slot_a')).toMatchObject({ position: { lsn: '0/200', seq: 0 }, eventsApplied: 3 });
  });

  it('deletes on d, ignores tombstones, and handles a key change sent as delete + tombstone + create', async () => {
    await createUsers();
    const sink = await newSink();
    await sink.apply([upsertUser(1, 'a@x', '0/100'), upsertUser(2, 'b@x', '0/100', 1)]);
    const del = deleteUser(1, '0/200');
    // key change 2 -> 3 in one source transaction
    const del2 = deleteUser(2, '0/300', 0);
    await sink.apply([del, tombstone(del), del2, tombstone(del2), upsertUser(3, 'b@x', '0/300', 2)]);
    expect(await users()).toEqual([{ id: 3, email_address: 'b@x', name: 'user 3' }]);
  });

  it('ignores an older event for a row (LSN guard), also across batches, and a replayed batch changes nothing', async () => {
    await createUsers();
    const sink = await newSink();
    const batch = [upsertUser(1, 'new@x', '0/300'), upsertUser(2, 'b@x', '0/300', 1)];
    await sink.apply(batch);
    await sink.apply([upsertUser(1, 'old@x', '0/200', 5, 'u')]);
    expect((await users())[0].email_address).toBe('new@x');
    // same commit LSN, earlier seq: older too
    await sink.apply([upsertUser(2, 'older@x', '0/300', 0, 'u')]);
    expect((await users())[1].email_address).toBe('b@x');
    await sink.apply(batch);
    expect(await users()).toEqual([
      { id: 1, email_address: 'new@x', name: 'user 1' },
      { id: 2, email_address: 'b@x', name: 'user 2' },
    ]);
    expect((await sink.status()).position).toEqual({ lsn: '0/300', seq: 1 });
  });

  it('keeps a deleted row deleted when an older insert is replayed after the delete', async () => {
    await createUsers();
    const sink = await newSink();
    await sink.apply([upsertUser(1, 'a@x', '0/100')]);
    await sink.apply([deleteUser(1, '0/200')]);
    await sink.apply([upsertUser(1, 'a@x', '0/100')]);
    expect(await users()).toEqual([]);
    // a newer insert of the same key is applied
    await sink.apply([upsertUser(1, 'again@x', '0/300')]);
    expect(await users()).toEqual([{ id: 1, email_address: 'again@x', name: 'user 1' }]);
  });

  it('truncates on t, drops changes before the truncate, and ignores replays older than it', async () => {
    await createUsers();
    const sink = await newSink();
    await sink.apply([upsertUser(1, 'a@x', '0/100'), upsertUser(2, 'b@x', '0/100', 1)]);
    await sink.apply([upsertUser(3, 'c@x', '0/150'), change({ op: 't', lsn: '0/200' }), upsertUser(4, 'd@x', '0/250')]);
    expect((await users()).map((u) => u.id)).toEqual([4]);
    // replays from before the truncate: ignored; the truncate itself replayed: does not wipe row 4
    await sink.apply([upsertUser(1, 'a@x', '0/100'), upsertUser(3, 'c@x', '0/150'), change({ op: 't', lsn: '0/200' })]);
    expect((await users()).map((u) => u.id)).toEqual([4]);
    await sink.apply([upsertUser(5, 'e@x', '0/300')]);
    expect((await users()).map((u) => u.id)).toEqual([4, 5]);
  });

  it('never writes the TOAST placeholder: keeps the stored value, or the one from earlier in the batch', async () => {
    await createUsers();
    const sink = await newSink();
    const big = 'x'.repeat(10_000);
    await sink.apply([change({ op: 'c', key: { id: 1 }, after: { id: 1, email: 'a@x', name: big }, lsn: '0/100' })]);
    await sink.apply([change({ op: 'u', key: { id: 1 }, after: { id: 1, email: 'changed@x', name: UNAVAILABLE_VALUE }, lsn: '0/200' })]);
    expect(await users()).toEqual([{ id: 1, email_address: 'changed@x', name: big }]);
    // in one batch: insert with the value, then an update that lacks it
    await sink.apply([
      change({ op: 'c', key: { id: 2 }, after: { id: 2, email: 'b@x', name: 'long' }, lsn: '0/300' }),
      change({ op: 'u', key: { id: 2 }, after: { id: 2, email: 'b2@x', name: UNAVAILABLE_VALUE }, lsn: '0/300', seq: 1 }),
    ]);
    expect((await users())[1]).toEqual({ id: 2, email_address: 'b2@x', name: 'long' });
  });

  it('applies nothing, not even the position, when the connection dies before COMMIT', async () => {
    await createUsers();
    let kill = true;
    const sink = await newSink({
      retries: 0,
      beforeCommit: async (trx) => {
        // The backend terminates itself: the transaction dies exactly as in a crash mid-batch.
        if (kill) await trx.raw('select pg_terminate_backend(pg_backend_pid())');
      },
    });
    const batch = Array.from({ length: 500 }, (_, i) => upsertUser(i + 1, `u${i}@x`, '0/100', i));
    const err = await sink.apply(batch).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FicusError);
    expect((err as FicusError).code).toBe('FICUS_ERR_CDC_SINK');
    expect(await users()).toEqual([]);
    expect((await sink.status()).position).toBeNull();
    expect(await db.query('select * from ficus_cdc_row_position')).toEqual([]);
    kill = false;
    await sink.apply(batch);
    expect((await users()).length).toBe(500);
    expect((await sink.status()).position).toEqual({ lsn: '0/100', seq: 499 });
  });

  it('parks an event that keeps failing as a dead letter, with its error, and applies the rest', async () => {
    await createUsers();
    const registry = createRegistry();
    const sink = await newSink({ registry, tables: [{ ...usersMapping, columns: [...usersMapping.columns, { from: 'age', to: 'age' }] }] });
    const ok1 = change({ op: 'c', key: { id: 1 }, after: { id: 1, email: 'a@x', name: 'a', age: 30 }, lsn: '0/100' });
    const bad = change({ op: 'c', key: { id: 2 }, after: { id: 2, email: 'b@x', name: 'b', age: 100_000 }, lsn: '0/100', seq: 1 });
    const ok2 = change({ op: 'c', key: { id: 3 }, after: { id: 3, email: 'c@x', name: 'c', age: 40 }, lsn: '0/100', seq: 2 });
    await sink.apply([ok1, bad, ok2]);
    expect((await users()).map((u) => u.id)).toEqual([1, 3]);
    const status = await sink.status();
    expect(status.position).toEqual({ lsn: '0/100', seq: 2 });
    expect(status.eventsApplied).toBe(3);
    expect(status.deadLetters.count).toBe(1);
    expect(status.deadLetters.latest).toMatchObject({ sourceTable: 'public.users', targetTable: 'public.users', rowKey: '[2]', op: 'c', errorCode: '22003', attempts: 3, position: { lsn: '0/100', seq: 1 } });
    expect(status.deadLetters.latest?.error).toMatch(/out of range/);
    const [row] = await db.query<{ event: { key: unknown } }>('select event from ficus_cdc_dead_letter');
    expect(row.event.key).toEqual({ id: 2 });
    const metrics = await registry.metrics();
    expect(metrics).toContain('ficus_cdc_sink_events_total{sink="users-service"} 3');
    expect(metrics).toContain('ficus_cdc_sink_dead_letters_total{sink="users-service"} 1');
    expect(metrics).toMatch(/ficus_cdc_sink_batch_duration_seconds_count\{sink="users-service"\} 1/);
    // the stream goes on: a later fixed version of the row applies
    await sink.apply([change({ op: 'u', key: { id: 2 }, after: { id: 2, email: 'b@x', name: 'b', age: 50 }, lsn: '0/200' })]);
    expect((await users()).map((u) => u.id)).toEqual([1, 2, 3]);
  });

  it('writes Debezium-typed values back as the source types (timestamps, dates, bytea, jsonb, numeric, int8, arrays)', async () => {
    await db.query(`create table measurements (id bigint primary key, at timestamp, at_ms timestamp(3), at_tz timestamptz, day date,
      t time, blob bytea, doc jsonb, amount numeric(20,4), tags text[], span interval)`);
    const m: TableMapping = {
      from: { schema: 'public', table: 'measurements' },
      to: { schema: 'public', table: 'measurements' },
      columns: ['id', 'at', 'at_ms', 'at_tz', 'day', 't', 'blob', 'doc', 'amount', 'tags', 'span'].map((c) => ({ from: c, to: c })),
      keyColumns: ['id'],
      at: [],
    };
    const sink = await newSink({ tables: [m] });
    await sink.apply([
      change({
        op: 'c', table: 'measurements', key: { id: 9_007_199_254_740_993n }, lsn: '0/100',
        after: {
          id: 9_007_199_254_740_993n, at: 1_704_164_645_123_456, at_ms: 1_704_164_645_123, at_tz: '2024-01-02T03:04:05.5Z', day: 19_724,
          t: 37_230_000_001, blob: Buffer.from('hello').toString('base64'), doc: '{"a": [1, 2]}', amount: '12345.6789',
          tags: ['a', 'b c'], span: 90_000_000,
        },
      }),
    ]);
    const [row] = await db.query(`select id::text, at::text, at_ms::text, at_tz at time zone 'UTC' as tz, day::text, t::text,
      encode(blob, 'escape') as blob, doc::text, amount::text, tags, span::text from measurements`);
    expect(row).toEqual({
      id: '9007199254740993', at: '2024-01-02 03:04:05.123456', at_ms: '2024-01-02 03:04:05.123', tz: new Date('2024-01-02T03:04:05.500Z'),
      day: '2024-01-02', t: '10:20:30.000001', blob: 'hello', doc: '{"a": [1, 2]}', amount: '12345.6789', tags: ['a', 'b c'], span: '00:01:30',
    });
  });
});

describe('knex sink, when the sink schema stops fitting the mapping', () => {
  it('fails the batch with FICUS_ERR_CDC_SINK_SCHEMA instead of parking every event, and recovers once the schema is fixed', async () => {
    await createUsers();
    const sink = await newSink();
    await sink.apply([upsertUser(1, 'a@x', '0/100')]);
    await db.query('alter table users drop column name');
    const err = await sink.apply([upsertUser(2, 'b@x', '0/200')]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FicusError);
    expect((err as FicusError).code).toBe('FICUS_ERR_CDC_SINK_SCHEMA');
    expect((err as FicusError).message).toMatch(/column "name"/);
    expect((await sink.status()).deadLetters.count).toBe(0);
    await db.query(`alter table users add column name text not null default ''`);
    await sink.apply([upsertUser(2, 'b@x', '0/200')]);
    expect((await users()).map((u) => u.id)).toEqual([1, 2]);
  });
});

describe('knex sink dead-letter replay', () => {
  const withAge: TableMapping = { ...usersMapping, columns: [...usersMapping.columns, { from: 'age', to: 'age' }] };
  const person = (id: number, age: number, lsn: string, op: 'c' | 'u' = 'c') => change({ op, key: { id }, after: { id, email: `${id}@x`, name: `n${id}`, age }, lsn });

  it('applies parked events once the cause is fixed, keeps the ones still failing, and never overwrites newer rows', async () => {
    await createUsers();
    const sink = await newSink({ tables: [withAge] });
    await sink.apply([person(1, 100_000, '0/100'), person(2, 200_000, '0/100'), person(3, 300_000, '0/100')]);
    expect((await sink.status()).deadLetters.count).toBe(3);
    // row 3 moves on at the source: its newer event applies; its dead letter is now stale
    await sink.apply([person(3, 33, '0/200', 'u')]);

    // still failing: nothing changes but the attempts and the error
    expect(await sink.replayDeadLetters()).toEqual({ replayed: 1, failed: 2 }); // row 3's letter is superseded
    const [stillThere] = await db.query<{ attempts: number }>('select attempts from ficus_cdc_dead_letter order by id limit 1');
    expect(stillThere.attempts).toBe(4);

    await db.query('alter table users alter column age type int');
    const [first] = await db.query<{ id: string }>('select id from ficus_cdc_dead_letter order by id limit 1');
    expect(await sink.replayDeadLetters({ ids: [Number(first.id)] })).toEqual({ replayed: 1, failed: 0 });
    expect(await sink.replayDeadLetters()).toEqual({ replayed: 1, failed: 0 });
    expect(await db.query('select id, age from users order by id')).toEqual([{ id: 1, age: 100_000 }, { id: 2, age: 200_000 }, { id: 3, age: 33 }]);
    expect((await sink.status()).deadLetters).toEqual({ count: 0, latest: null });
  });

  it('drops a stale event whose value the column would reject instead of parking it (the guard runs before the cast)', async () => {
    await createUsers();
    const sink = await newSink({ tables: [withAge] });
    await sink.apply([person(1, 33, '0/200')]);
    await sink.apply([person(1, 100_000, '0/100'), person(2, 44, '0/300')]);
    expect(await db.query('select id, age from users order by id')).toEqual([{ id: 1, age: 33 }, { id: 2, age: 44 }]);
    expect((await sink.status()).deadLetters.count).toBe(0);
  });
});

describe('runReplayDeadLettersCommand', () => {
  it('replays per sink, prints counts (or JSON), and exits 1 while some still fail, 0 once none do, 2 for an unknown sink', async () => {
    await createUsers();
    const withAge: TableMapping = { ...usersMapping, columns: [...usersMapping.columns, { from: 'age', to: 'age' }] };
    const sink = await newSink({ tables: [withAge] });
    await sink.apply([change({ op: 'c', key: { id: 1 }, after: { id: 1, email: 'a', name: 'a', age: 100_000 }, lsn: '0/100' })]);
    const model = {
      file: 'cdc.yaml',
      source: { url: 'postgres://unused', slot: 'slot_a', publication: 'p', tables: [], snapshot: 'never' as const, heartbeatMs: 1000, tombstones: true, batchSize: 10, snapshotBatchSize: 10, snapshotBatchBytes: 1_000_000 },
      topicPrefix: 'legacy',
      transport: { kind: 'direct' as const },
      sinks: [{ name: 'users-service', url: db.url, tables: [withAge], retry: FAST_RETRY, at: [] }],
    };
    const out: string[] = [];
    const io = { out: (s: string) => out.push(s), err: (s: string) => out.push(`ERR ${s}`) };
    expect(await runReplayDeadLettersCommand(model, { json: false, ...io })).toBe(1);
    expect(out.pop()).toBe('users-service: 0 replayed, 1 still failing');
    await db.query('alter table users alter column age type int');
    expect(await runReplayDeadLettersCommand(model, { json: true, sink: 'users-service', ...io })).toBe(0);
    expect(JSON.parse(out.pop() ?? '')).toEqual({ sinks: [{ sink: 'users-service', replayed: 1, failed: 0 }] });
    expect(await runReplayDeadLettersCommand(model, { json: false, sink: 'nope', ...io })).toBe(2);
    expect(out.pop()).toMatch(/^ERR no sink named "nope"/);
  });
});

describe('knex sink, secondary unique constraints', () => {
  it('applies a source transaction that swaps a unique value between two rows (falls back to event-by-event order)', async () => {
    await createUsers(); // email_address is unique
    const sink = await newSink();
    await sink.apply([upsertUser(1, 'x@x', '0/100'), upsertUser(2, 'y@x', '0/100', 1)]);
    // one source transaction: 1 → tmp, 2 → x, 1 → y (each step valid at the source)
    await sink.apply([upsertUser(1, 'tmp@x', '0/200', 0, 'u'), upsertUser(2, 'x@x', '0/200', 1, 'u'), upsertUser(1, 'y@x', '0/200', 2, 'u')]);
    expect((await users()).map((u) => [u.id, u.email_address])).toEqual([[1, 'y@x'], [2, 'x@x']]);
    expect((await sink.status()).deadLetters.count).toBe(0);
    expect((await sink.status()).position).toEqual({ lsn: '0/200', seq: 2 });
  });
});

describe('knex sink value decoding by the source column type', () => {
  it('reads a millisecond timestamp by the SOURCE precision even when the sink column has microseconds', async () => {
    await db.query('create table measurements (id int primary key, at timestamp(6))');
    const m: TableMapping = { from: { schema: 'public', table: 'measurements' }, to: { schema: 'public', table: 'measurements' }, columns: [{ from: 'id', to: 'id' }, { from: 'at', to: 'at' }], keyColumns: ['id'], at: [] };
    const sourceColumns = new Map([['public.measurements', { columns: [
      { name: 'id', typeOid: 23, typmod: -1, elemOid: 0, typeName: 'integer' },
      { name: 'at', typeOid: 1114, typmod: 3, elemOid: 0, typeName: 'timestamp(3) without time zone' },
    ] }]]);
    const sink = await createSink({ name: 'svc', url: db.url, tables: [m], retry: FAST_RETRY, at: [] }, { sourceId: 'slot_a', sourceColumns });
    sinks.push(sink);
    await sink.migrate();
    // Debezium's adaptive mode sends timestamp(3) as epoch MILLIseconds
    await sink.apply([change({ op: 'c', table: 'measurements', key: { id: 1 }, after: { id: 1, at: 1_704_164_645_123 }, lsn: '0/10' })]);
    expect(await db.query('select at::text from measurements')).toEqual([{ at: '2024-01-02 03:04:05.123' }]);
  });
});

describe('knex sink, snapshot rows (op r)', () => {
  const snap = (id: number, email: string, seq: number, lsn = '0/500') => change({ op: 'r', key: { id }, after: { id, email, name: `user ${id}` }, lsn, seq });

  it('guards snapshot rows too: after a re-snapshot, the replayed stream overlap older than it is dropped', async () => {
    await createUsers();
    const sink = await newSink();
    // A re-snapshot (after an interrupted one) reads the table at 0/500, while the slot still
    // streams from 0/300: the events between them arrive after the snapshot rows.
    await sink.apply([snap(1, 'a-at-500@x', 0), snap(2, 'b-at-500@x', 1)]);
    await sink.apply([upsertUser(1, 'a-at-400@x', '0/400', 0, 'u'), deleteUser(2, '0/400', 1)]);
    expect((await users()).map((u) => [u.id, u.email_address])).toEqual([[1, 'a-at-500@x'], [2, 'b-at-500@x']]);
    // and the stream after the snapshot applies
    await sink.apply([upsertUser(1, 'a-at-600@x', '0/600', 0, 'u'), deleteUser(2, '0/600', 1)]);
    expect((await users()).map((u) => [u.id, u.email_address])).toEqual([[1, 'a-at-600@x']]);
  });

  it('never lets a replayed snapshot row undo a newer change or delete, and drops snapshot rows before a truncate', async () => {
    await createUsers();
    const sink = await newSink();
    await sink.apply([snap(1, 'a@x', 0), snap(2, 'b@x', 1), snap(3, 'c@x', 2)]);
    await sink.apply([upsertUser(1, 'a2@x', '0/600', 0, 'u'), deleteUser(2, '0/600', 1)]);
    await sink.apply([snap(1, 'a@x', 0), snap(2, 'b@x', 1), snap(3, 'c@x', 2)]);
    expect((await users()).map((u) => [u.id, u.email_address])).toEqual([[1, 'a2@x'], [3, 'c@x']]);
    await sink.apply([change({ op: 't', lsn: '0/700' })]);
    await sink.apply([snap(4, 'd@x', 0, '0/500')]);
    expect(await users()).toEqual([]);
  });

  const base = SNAPSHOT_SEQ_BASE;
  const guards = async () => (await db.query<{ n: number }>('select count(*)::int as n from ficus_cdc_row_position'))[0].n;

  it('copies an initial snapshot in without a guard row per row, and keeps the consistent point as the table watermark', async () => {
    await createUsers();
    const sink = await newSink();
    await sink.apply(Array.from({ length: 50 }, (_, i) => snap(i + 1, `u${i + 1}@x`, base + i)));
    await sink.apply(Array.from({ length: 50 }, (_, i) => snap(i + 51, `u${i + 51}@x`, base + 50 + i)));
    expect((await users()).length).toBe(100);
    expect(await guards()).toBe(0);
    expect(await db.query('select target_table, snapshot_lsn::text from ficus_cdc_table_position')).toEqual([{ target_table: 'public.users', snapshot_lsn: '0/500' }]);
    expect((await sinkStatusFromDb(db.url, 'users-service', 'slot_a')).position).toEqual({ lsn: '0/500', seq: base + 99 });
  });

  it('applies a transaction committed exactly at the consistent point after the snapshot (its seq 0 sorts after every snapshot row)', async () => {
    await createUsers();
    const sink = await newSink();
    await sink.apply([snap(1, 'a@x', base), snap(2, 'b@x', base + 1)]);
    await sink.apply([upsertUser(1, 'a-at-cp@x', '0/500', 0, 'u'), deleteUser(2, '0/500', 1)]);
    expect((await users()).map((u) => [u.id, u.email_address])).toEqual([[1, 'a-at-cp@x']]);
    // a redelivered snapshot batch changes nothing now
    await sink.apply([snap(1, 'a@x', base), snap(2, 'b@x', base + 1)]);
    expect((await users()).map((u) => [u.id, u.email_address])).toEqual([[1, 'a-at-cp@x']]);
  });

  it('upserts a batch of the same snapshot seen again, and a snapshot into an emptied table prunes the guards below it', async () => {
    await createUsers();
    const sink = await newSink();
    await sink.apply([snap(1, 'a@x', base), snap(2, 'b@x', base + 1)]);
    await sink.apply([snap(1, 'a@x', base), snap(2, 'b@x', base + 1)]); // redelivered: same rows again
    expect((await users()).map((u) => [u.id, u.email_address])).toEqual([[1, 'a@x'], [2, 'b@x']]);
    expect(await guards()).toBe(0);
    // the stream deletes everything; a new snapshot at 0/700 finds the table empty
    await sink.apply([upsertUser(3, 'c@x', '0/600'), deleteUser(1, '0/600', 1), deleteUser(2, '0/600', 2), deleteUser(3, '0/650')]);
    expect(await guards()).toBe(3);
    await sink.apply([snap(4, 'd@x', base, '0/700')]);
    expect(await guards()).toBe(0);
    // the stream overlap replayed after it is older than 0/700: dropped, resurrecting nothing
    await sink.apply([upsertUser(3, 'c@x', '0/600'), upsertUser(2, 'b2@x', '0/650')]);
    expect((await users()).map((u) => u.id)).toEqual([4]);
  });

  it('guards every row of a snapshot over rows it did not write, so the replayed stream still deletes what it lacks', async () => {
    await createUsers();
    const sink = await newSink();
    await sink.apply([snap(1, 'a@x', base), snap(2, 'b@x', base + 1), snap(3, 'c@x', base + 2)]);
    // while ficus was stopped: 1 updated at 0/600, 3 deleted at 0/650, 4 inserted at 0/660;
    // a repeated snapshot at 0/700 sees 1 (updated), 2 and 4 - not 3 - over the sink's old rows
    await sink.apply([snap(1, 'a2@x', base, '0/700'), snap(2, 'b@x', base + 1, '0/700'), snap(4, 'd@x', base + 2, '0/700')]);
    expect(await guards()).toBe(3);
    // then the slot replays from before 0/600: older than the snapshot's rows, but 3's delete applies
    await sink.apply([upsertUser(1, 'a-old@x', '0/600', 0, 'u'), deleteUser(3, '0/650'), upsertUser(4, 'd-old@x', '0/660')]);
    expect((await users()).map((u) => [u.id, u.email_address])).toEqual([[1, 'a2@x'], [2, 'b@x'], [4, 'd@x']]);
  });

  it('round-trips escapes, NULLs, bytea and typed values through COPY, and parks a row the table rejects', async () => {
    await db.query(`create table profiles (id bigint primary key, bio text, blob bytea, at timestamptz, day date, score float8, ok boolean, big bigint,
      doc jsonb, name text not null)`);
    const m: TableMapping = {
      from: { schema: 'public', table: 'profiles' },
      to: { schema: 'public', table: 'profiles' },
      columns: ['id', 'bio', 'blob', 'at', 'day', 'score', 'ok', 'big', 'doc', 'name'].map((c) => ({ from: c, to: c })),
      keyColumns: ['id'],
      at: [],
    };
    const sink = await newSink({ tables: [m] });
    const row = (id: number, extra: Record<string, unknown> = {}) => change({
      op: 'r', table: 'profiles', key: { id }, lsn: '0/500', seq: base + id,
      after: { id, bio: 'tab\there\nnew line\\ back\\slash \\N', blob: Buffer.from([0, 9, 10, 92, 255]).toString('base64'), at: '2024-01-02T03:04:05.123456Z',
        day: 19_724, score: 0.1, ok: true, big: 9_007_199_254_740_993n, doc: '{"a": "b\\tc"}', name: `p${id}`, ...extra },
    });
    await sink.apply([row(1), row(2, { bio: null, blob: null, name: null }), row(3, { bio: '' })]);
    const rows = await db.query(`select id::int, bio, encode(blob, 'hex') as blob, at at time zone 'UTC' as at, day::text, score, ok, big::text, doc::text, name
      from profiles order by id`);
    expect(rows).toEqual([
      { id: 1, bio: 'tab\there\nnew line\\ back\\slash \\N', blob: '00090a5cff', at: new Date('2024-01-02T03:04:05.123Z'), day: '2024-01-02', score: 0.1, ok: true, big: '9007199254740993', doc: '{"a": "b\\tc"}', name: 'p1' },
      { id: 3, bio: '', blob: '00090a5cff', at: new Date('2024-01-02T03:04:05.123Z'), day: '2024-01-02', score: 0.1, ok: true, big: '9007199254740993', doc: '{"a": "b\\tc"}', name: 'p3' },
    ]);
    expect(await db.query(`select row_key, op, error_code from ficus_cdc_dead_letter`)).toEqual([{ row_key: '[2]', op: 'r', error_code: '23502' }]);
  });
});
