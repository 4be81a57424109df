import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatProblems } from '../../../src/config/problems.js';
import { checkAgainstDatabases } from '../../../src/cdc/config/check-databases.js';
import { loadCdcConfig } from '../../../src/cdc/config/load-cdc-config.js';
import type { ChangeEvent } from '../../../src/cdc/event/change-event.js';
import { UNAVAILABLE_VALUE } from '../../../src/cdc/event/change-event.js';
import { CdcPipeline } from '../../../src/cdc/pipeline.js';
import { runCdc, statusCdc } from '../../../src/cli/cdc-commands.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { createRegistry } from '../../../src/observability/metrics.js';
import type { EmbeddedPg } from '../../../src/util/embedded-postgres.js';
import { startEmbeddedPostgres } from '../../../src/util/embedded-postgres.js';
import { createDatabase, waitFor, withClient } from '../../helpers/cdc-fixtures.js';

let pgs: EmbeddedPg;
let dir: string;

beforeAll(async () => {
  pgs = await startEmbeddedPostgres();
  dir = mkdtempSync(join(tmpdir(), 'ficus-cdc-'));
});
afterAll(async () => {
  await pgs?.stop();
});

function configFile(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

describe('CDC start-up checks against the databases', () => {
  it('reports unknown table/column, missing key, missing sink table, each located, and writes nothing', async () => {
    await createDatabase(pgs.url(), 'chk_src');
    await createDatabase(pgs.url(), 'chk_dst');
    await withClient(pgs.url('chk_src'), async (c) => {
      await c.query('create table users (id int primary key, email text, created_at timestamptz)');
      await c.query('create table events (payload text)'); // no key, default identity
    });
    await withClient(pgs.url('chk_dst'), (c) => c.query('create table users (id int primary key, email_address text)'));
    const file = configFile('bad.yaml', `source:
  url: ${pgs.url('chk_src')}
  slot: chk_slot
  publication: chk_pub
  tables: [public.users, public.events, public.orderz]
topicPrefix: legacy
transport: { kind: direct }
sinks:
  - name: svc
    url: ${pgs.url('chk_dst')}
    tables:
      - from: public.users
        to: users
        columns: { id: id, emial: email_address, created_at: created_at }
      - from: public.events
        to: events
`);
    const loaded = await loadCdcConfig(file);
    if (!loaded.ok) throw new Error(formatProblems(loaded.problems));
    const checked = await checkAgainstDatabases(loaded.model, loaded.locate);
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    const out = formatProblems(checked.problems);
    expect(out).toContain(`${file}:5:26: table public.events has no primary key or replica identity index`);
    expect(out).toContain(`${file}:5:41: table public.orderz does not exist in the source database`);
    expect(out).toContain(`${file}:14:28: column "emial" does not exist in source table public.users (did you mean "email"?)`);
    expect(out).toMatch(new RegExp(`${file}:14:\\d+: column "created_at" does not exist in sink table public.users`));
    expect(out).toContain(`${file}:16:13: sink table public.events does not exist in sink "svc"'s database`);
    const slots = await withClient(pgs.url('chk_src'), (c) => c.query("select 1 from pg_replication_slots where slot_name = 'chk_slot' union all select 1 from pg_publication where pubname = 'chk_pub'"));
    expect(slots.rowCount).toBe(0);
  });
});

describe('CDC pipeline, direct transport', () => {
  const src = 'pipe_src';
  const dst = 'pipe_dst';
  let pipeline: CdcPipeline | null = null;
  let okFile = '';
  const seen: ChangeEvent[] = [];

  beforeAll(async () => {
    await createDatabase(pgs.url(), src);
    await createDatabase(pgs.url(), dst);
    await withClient(pgs.url(src), async (c) => {
      await c.query(`create table users (id bigint primary key, email text not null, bio text, created_at timestamp(6) not null default '2024-01-02 03:04:05.123456')`);
      await c.query(`create table kinds (id uuid primary key, big int8, amount numeric(30,10), at timestamptz, doc jsonb, tags int[], day date)`);
      await c.query(`insert into users (id, email) select g, 'u' || g || '@x.io' from generate_series(1, 500) g`);
    });
    await withClient(pgs.url(dst), async (c) => {
      await c.query('create table users (id bigint primary key, email_address text, bio text, created_at timestamp(6))');
      await c.query('create table kinds (id uuid primary key, big int8, amount numeric(30,10), at timestamptz, doc jsonb, tags int[], day date)');
    });
    okFile = configFile('ok.yaml', `source:
  url: ${pgs.url(src)}
  slot: pipe_slot
  publication: pipe_pub
  tables: [public.users, public.kinds]
  heartbeat: 200ms
topicPrefix: legacy
transport: { kind: direct }
sinks:
  - name: svc
    url: ${pgs.url(dst)}
    tables:
      - from: public.users
        to: users
        columns: { id: id, email: email_address, bio: bio, created_at: created_at }
      - from: kinds
        to: kinds
`);
    const loaded = await loadCdcConfig(okFile);
    if (!loaded.ok) throw new Error(formatProblems(loaded.problems));
    const checked = await checkAgainstDatabases(loaded.model, loaded.locate);
    if (!checked.ok) throw new Error(formatProblems(checked.problems));
    pipeline = new CdcPipeline(checked.model, checked.catalog, { logger: silentLogger(), registry: createRegistry(), onDelivered: (evs) => seen.push(...evs) });
    await pipeline.start();
  });
  afterAll(async () => {
    await pipeline?.stop();
  });

  const sinkRow = (sql: string, params: unknown[] = []) => withClient(pgs.url(dst), async (c) => (await c.query(sql, params)).rows);

  it('snapshots existing rows as op r, first and last marked, then streams inserts, updates and deletes', async () => {
    await waitFor(async () => (await sinkRow('select count(*)::int as n from users'))[0].n === 500, 'snapshot in sink');
    const snap = seen.filter((e) => e.value?.op === 'r');
    expect(snap).toHaveLength(500);
    expect(snap[0].value?.source.snapshot).toBe('first');
    expect(snap[499].value?.source.snapshot).toBe('last');
    expect(snap[0].key).toEqual({ id: 1 });
    expect(snap[0].value?.after).toEqual({ id: 1, email: 'u1@x.io', bio: null, created_at: 1704164645123456 });

    await withClient(pgs.url(src), async (c) => {
      await c.query("insert into users (id, email) values (1001, 'new@x.io')");
      await c.query("update users set email = 'changed@x.io' where id = 2");
      await c.query('delete from users where id = 3');
    });
    await waitFor(async () => (await sinkRow('select 1 from users where id = 1001')).length === 1 && (await sinkRow('select 1 from users where id = 3')).length === 0, 'stream applied');
    expect((await sinkRow('select email_address from users where id = 2'))[0].email_address).toBe('changed@x.io');

    const c = seen.find((e) => e.value?.op === 'c' && e.key?.id === 1001);
    expect(c?.topic).toBe('legacy.public.users');
    const source = c?.value?.source;
    expect(source).toMatchObject({ connector: 'postgresql', name: 'legacy', snapshot: 'false', db: 'pipe_src', schema: 'public', table: 'users', xmin: null });
    expect(typeof source?.txId).toBe('number');
    expect(typeof source?.lsn).toBe('number');
    // sequence = [previous commit LSN (null for the first transaction after start), this change's LSN]
    const sequence = JSON.parse(source?.sequence ?? 'null') as [string | null, string];
    expect(sequence[1]).toBe(String(source?.lsn));
    const next = seen.find((e) => e.value?.op === 'u' && e.key?.id === 2)?.value?.source;
    expect(JSON.parse(next?.sequence ?? 'null')[0]).toMatch(/^\d+$/);
    const del = seen.findIndex((e) => e.value?.op === 'd' && e.key?.id === 3);
    expect(seen[del].value?.before).toEqual({ id: 3, email: null, bio: null, created_at: null });
    expect(seen[del + 1]).toMatchObject({ key: { id: 3 }, value: null });
  });

  it('turns a primary key change into delete + tombstone + create and moves the sink row', async () => {
    await withClient(pgs.url(src), (c) => c.query('update users set id = 2002 where id = 4'));
    await waitFor(async () => (await sinkRow('select 1 from users where id = 2002')).length === 1, 'pk change applied');
    expect(await sinkRow('select 1 from users where id = 4')).toHaveLength(0);
    const i = seen.findIndex((e) => e.value?.op === 'd' && e.key?.id === 4);
    expect(seen.slice(i, i + 3).map((e) => [e.value?.op ?? 'tombstone', e.key?.id])).toEqual([['d', 4], ['tombstone', 4], ['c', 2002]]);
    expect(seen[i + 2].value?.after).toMatchObject({ id: 2002, email: 'u4@x.io' });
  });

  it('emits the unavailable-value placeholder for unchanged TOAST and never writes it to the sink', async () => {
    const big = await withClient(pgs.url(src), async (c) => {
      const r = await c.query<{ b: string }>("update users set bio = (select string_agg(md5(g::text), '') from generate_series(1, 400) g) where id = 5 returning bio as b");
      return r.rows[0].b;
    });
    await waitFor(async () => (await sinkRow('select bio from users where id = 5'))[0]?.bio === big, 'big bio applied');
    await withClient(pgs.url(src), (c) => c.query("update users set email = 'toast@x.io' where id = 5"));
    await waitFor(async () => (await sinkRow('select email_address from users where id = 5'))[0]?.email_address === 'toast@x.io', 'email update applied');
    const u = seen.filter((e) => e.value?.op === 'u' && e.key?.id === 5).at(-1);
    expect(u?.value?.after?.bio).toBe(UNAVAILABLE_VALUE);
    expect((await sinkRow('select bio from users where id = 5'))[0].bio).toBe(big);
  });

  it('keeps full type fidelity end to end: int8, numeric, timestamptz, jsonb, uuid, arrays, date', async () => {
    await withClient(pgs.url(src), (c) => c.query(`insert into kinds values ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 9223372036854775807, 12345678901234567890.0123456789,
      '2024-05-06 07:08:09.654321+02', '{"a": [1, {"b": null}], "n": 1.5}', '{1,NULL,3}', '2000-02-29')`));
    await waitFor(async () => (await sinkRow('select 1 from kinds')).length === 1, 'kinds row applied');
    const e = seen.find((x) => x.table === 'kinds' && x.value?.op === 'c');
    expect(e?.key).toEqual({ id: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11' });
    expect(e?.value?.after).toEqual({
      id: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', big: 9223372036854775807n, amount: '12345678901234567890.0123456789',
      at: '2024-05-06T05:08:09.654321Z', doc: '{"a": [1, {"b": null}], "n": 1.5}', tags: [1, null, 3], day: 11016,
    });
    const [row] = await sinkRow(`select big::text, amount::text, to_char(at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') as at, doc::text, tags::text, day::text from kinds`);
    expect(row).toEqual({ big: '9223372036854775807', amount: '12345678901234567890.0123456789', at: '2024-05-06 05:08:09.654321', doc: '{"a": [1, {"b": null}], "n": 1.5}', tags: '{1,NULL,3}', day: '2000-02-29' });
  });

  it('emits a truncate as op t with a null key and empties the sink table', async () => {
    await withClient(pgs.url(src), (c) => c.query('truncate kinds'));
    await waitFor(async () => (await sinkRow('select 1 from kinds')).length === 0, 'truncate applied');
    const t = seen.find((e) => e.table === 'kinds' && e.value?.op === 't');
    expect(t).toMatchObject({ topic: 'legacy.public.kinds', key: null, value: { before: null, after: null, op: 't', source: { table: 'kinds', snapshot: 'false' } } });
  });

  it('acks the slot only up to what the sink committed, and heartbeats move it when quiet', async () => {
    const before = await withClient(pgs.url(src), async (c) => (await c.query<{ l: string }>("select confirmed_flush_lsn::text as l from pg_replication_slots where slot_name = 'pipe_slot'")).rows[0].l);
    await waitFor(async () => {
      const r = await withClient(pgs.url(src), (c) => c.query<{ moved: boolean }>("select confirmed_flush_lsn > $1::pg_lsn as moved from pg_replication_slots where slot_name = 'pipe_slot'", [before]));
      return r.rows[0].moved;
    }, 'slot advanced by heartbeat');
    const st = await pipeline?.status();
    expect(st?.source.phase).toBe('streaming');
    expect(st?.sinks[0].position).not.toBeNull();
  });

  it('resubscribes from the slot position after the replication connection is killed, losing nothing', async () => {
    const killed = await withClient(pgs.url(src), (c) => c.query("select pg_terminate_backend(active_pid) as ok from pg_replication_slots where slot_name = 'pipe_slot' and active_pid is not null"));
    expect(killed.rowCount).toBe(1);
    await withClient(pgs.url(src), (c) => c.query("insert into users (id, email) select g, 'r' || g from generate_series(3001, 3100) g"));
    await waitFor(async () => (await sinkRow('select count(*)::int as n from users where id between 3001 and 3100'))[0].n === 100, 'rows after reconnect');
    await waitFor(async () => (await pipeline?.status())?.source.phase === 'streaming', 'streaming again');
  });

  it('cdc status --json shows the slot, per-sink position and lag, events/s and dead letters', async () => {
    const out: string[] = [];
    const code = await statusCdc(okFile, { json: true, io: { out: (s) => out.push(s), err: (s) => out.push(s) }, sampleMs: 100 });
    expect(code).toBe(0);
    const report = JSON.parse(out.join('\n'));
    expect(report.slot).toMatchObject({ slot: 'pipe_slot', exists: true, active: true, snapshotCompleted: true });
    expect(report.slot.lagBytes).toEqual(expect.any(Number));
    expect(report.sinks[0]).toMatchObject({ sink: 'svc', error: null, eventsPerSecond: expect.any(Number), lagBytes: expect.any(Number) });
    expect(report.sinks[0].status.deadLetters.count).toBe(0);
    expect(report.sinks[0].status.eventsApplied).toBeGreaterThan(500);
    const text: string[] = [];
    await statusCdc(okFile, { io: { out: (s) => text.push(s), err: (s) => text.push(s) }, sampleMs: 0 });
    expect(text.join('\n')).toMatch(/^slot pipe_slot: active, confirmed \S+, server at \S+, lag \d+ bytes\nsink svc: position \S+#\d+, lag/);
  });

  it('cdc run with a config that does not match the databases prints located problems and exits 2', async () => {
    const bad = configFile('bad-run.yaml', readFileSync(okFile, 'utf8').replace('bio: bio', 'biography: bio'));
    const err: string[] = [];
    const code = await runCdc(bad, { io: { out: () => {}, err: (s) => err.push(s) }, signals: [] });
    expect(code).toBe(2);
    expect(err.join('\n')).toMatch(new RegExp(`FICUS_ERR_CDC_CONFIG_MISMATCH[\\s\\S]*${bad}:15:\\d+: column "biography" does not exist in source table public.users`));
  });
});
