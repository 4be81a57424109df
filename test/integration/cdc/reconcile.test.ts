import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CdcModel, SinkModel } from '../../../src/cdc/config/cdc-model.js';
import type { ReconcileReport } from '../../../src/cdc/reconcile/reconcile.js';
import { formatReconcile, reconcile, runReconcileCommand } from '../../../src/cdc/reconcile/reconcile.js';
import { freePort } from '../../../src/util/embedded-postgres.js';
import type { TestDatabase } from '../../helpers/sink-database.js';
import { createTestDatabase } from '../../helpers/sink-database.js';

let source: TestDatabase;
let target: TestDatabase;

function model(sinkUrl = target.url): CdcModel {
  const sink: SinkModel = {
    name: 'users-service',
    url: sinkUrl,
    retry: { retries: 0, initialMs: 1, maxMs: 1, factor: 2 },
    at: [],
    tables: [
      {
        from: { schema: 'public', table: 'users' },
        to: { schema: 'public', table: 'users' },
        columns: [
          { from: 'id', to: 'id' },
          { from: 'email', to: 'email_address' },
          { from: 'created_at', to: 'created_at' },
          { from: 'score', to: 'score' },
        ],
        keyColumns: ['id'],
        at: [],
      },
      {
        from: { schema: 'public', table: 'regions' },
        to: { schema: 'public', table: 'regions' },
        columns: [{ from: 'code', to: 'code' }, { from: 'name', to: 'name' }],
        keyColumns: ['code'],
        at: [],
      },
    ],
  };
  return {
    file: 'test.yaml',
    source: { url: source.url, slot: 's', publication: 'p', tables: [], snapshot: 'initial', heartbeatMs: 1000, tombstones: true, batchSize: 100, snapshotBatchSize: 100, snapshotBatchBytes: 1_000_000 },
    topicPrefix: 'legacy',
    transport: { kind: 'direct' },
    sinks: [sink],
  };
}

beforeAll(async () => {
  [source, target] = await Promise.all([createTestDatabase('ficus_rec_src'), createTestDatabase('ficus_rec_dst')]);
});

afterAll(async () => {
  await Promise.all([source.drop(), target.drop()]);
});

beforeEach(async () => {
  await source.query('drop table if exists users, regions');
  await target.query('drop table if exists users, regions');
  // The source has a column the mapping leaves out, and names the sink renames.
  await source.query('create table users (id int primary key, email text, created_at timestamptz, score float8, secret text)');
  await target.query('create table users (id int primary key, email_address text, created_at timestamptz, score float8)');
  await source.query(`insert into users select i, 'u' || i || '@x', timestamptz '2024-01-01 00:00:00+00' + i * interval '1.5 second', i / 3.0, 'hidden'
    from generate_series(1, 2500) i`);
  await target.query(`insert into users select i, 'u' || i || '@x', timestamptz '2024-01-01 00:00:00+00' + i * interval '1.5 second', i / 3.0
    from generate_series(1, 2500) i`);
  for (const db of [source, target]) {
    await db.query('create table regions (code text primary key, name text)');
    await db.query(`insert into regions values ('a', 'lower a'), ('B', 'upper b'), ('c', null), ('Z', 'NULL')`);
  }
});

describe('reconcile', () => {
  it('reports equal tables with counts and chunks, and exits 0', async () => {
    const progress: string[] = [];
    const report = await reconcile(model(), { chunkSize: 1000, onProgress: (m) => progress.push(m) });
    expect(report.equal).toBe(true);
    expect(report.tables.map((t) => [t.source, t.sourceRows, t.sinkRows, t.chunks, t.equal])).toEqual([
      ['public.users', 2500, 2500, 3, true],
      ['public.regions', 4, 4, 1, true],
    ]);
    expect(progress.at(-1)).toMatch(/regions: chunk 1\/1, 0 differing/);
    const out: string[] = [];
    expect(await runReconcileCommand(model(), { json: false, out: (s) => out.push(s), err: () => {} })).toBe(0);
    expect(out.join('\n')).toMatch(/users-service\s+public\.users\s+public\.users\s+2500\s+2500\s+3\s+equal/);
  });

  it('lists the key ranges that differ (changed, missing and extra rows, NULL vs "NULL") and exits 1', async () => {
    await target.query(`update users set email_address = 'changed@x' where id = 1500`);
    await target.query('delete from users where id = 2400');
    await target.query(`insert into users values (9999, 'extra@x', now(), 1)`);
    await target.query(`update regions set name = null where code = 'Z'`);
    const report = await reconcile(model(), { chunkSize: 1000 });
    expect(report.equal).toBe(false);
    const users = report.tables[0];
    expect(users.sourceRows).toBe(2500);
    expect(users.sinkRows).toBe(2500);
    expect(users.differing).toEqual([
      { from: { id: '1001' }, to: { id: '2001' }, sourceRows: 1000, sinkRows: 1000, keys: { missing: [], extra: [], changed: [{ id: '1500' }] } },
      { from: { id: '2001' }, to: null, sourceRows: 500, sinkRows: 500, keys: { missing: [{ id: '2400' }], extra: [{ id: '9999' }], changed: [] } },
    ]);
    expect(report.tables[1].differing).toEqual([{ from: null, to: null, sourceRows: 4, sinkRows: 4, keys: { missing: [], extra: [], changed: [{ code: 'Z' }] } }]);
    const text = formatReconcile(report);
    expect(text).toContain('DIFFERENT (2 ranges)');
    expect(text).toContain('keys [id=1001 .. id=2001): source 1000 rows, sink 1000 rows\n    changed:         id=1500');
    expect(text).toContain('    missing in sink: id=2400\n    only in sink:    id=9999');
    expect(text).toContain('2 of 2 tables differ');

    const out: string[] = [];
    const err: string[] = [];
    expect(await runReconcileCommand(model(), { json: true, chunkSize: 1000, out: (s) => out.push(s), err: (s) => err.push(s) })).toBe(1);
    const parsed = JSON.parse(out.join('\n')) as ReconcileReport;
    expect(parsed.tables[0].differing).toHaveLength(2);
    expect(err).toEqual([]); // --json keeps stderr quiet
  });

  it('finds a single changed row in the smallest chunk that holds it', async () => {
    await target.query('update users set score = score + 0.000001 where id = 42');
    const report = await reconcile(model(), { chunkSize: 10 });
    expect(report.tables[0].chunks).toBe(250);
    expect(report.tables[0].differing).toEqual([{ from: { id: '41' }, to: { id: '51' }, sourceRows: 10, sinkRows: 10, keys: { missing: [], extra: [], changed: [{ id: '42' }] } }]);
  });

  it('exits 2 with FICUS_ERR_CDC_RECONCILE when a database cannot be reached', async () => {
    const port = await freePort();
    const err: string[] = [];
    const code = await runReconcileCommand(model(`postgres://postgres@127.0.0.1:${port}/nope`), { json: false, out: () => {}, err: (s) => err.push(s) });
    expect(code).toBe(2);
    expect(err.join('\n')).toMatch(/FICUS_ERR_CDC_RECONCILE: cannot reconcile sink "users-service"'s database: .*ECONNREFUSED/);
  });
});
