import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropCdc, runCdc } from '../../../src/cli/cdc-commands.js';
import { formatProblems } from '../../../src/config/problems.js';
import { checkAgainstDatabases } from '../../../src/cdc/config/check-databases.js';
import { parseCdcConfig } from '../../../src/cdc/config/load-cdc-config.js';
import { CdcPipeline } from '../../../src/cdc/pipeline.js';
import type { ChangeEvent } from '../../../src/cdc/event/change-event.js';
import type { SnapshotProgress } from '../../../src/cdc/source/snapshot-reader.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { createRegistry } from '../../../src/observability/metrics.js';
import type { EmbeddedPg } from '../../../src/util/embedded-postgres.js';
import { startEmbeddedPostgres } from '../../../src/util/embedded-postgres.js';
import { createDatabase, waitFor, withClient } from '../../helpers/cdc-fixtures.js';

let pgs: EmbeddedPg;
beforeAll(async () => { pgs = await startEmbeddedPostgres(); });
afterAll(async () => { await pgs?.stop(); });

async function setup(name: string, rows: number): Promise<{ src: string; dst: string }> {
  const src = `${name}_src`;
  const dst = `${name}_dst`;
  await createDatabase(pgs.url(), src);
  await createDatabase(pgs.url(), dst);
  await withClient(pgs.url(src), async (c) => {
    await c.query('create table t (id int primary key, v text)');
    await c.query(`insert into t select g, 'v' || g from generate_series(1, ${rows}) g`);
  });
  await withClient(pgs.url(dst), (c) => c.query('create table t (id int primary key, v text)'));
  return { src, dst };
}

interface StartOptions {
  readonly progress?: SnapshotProgress[];
  readonly waitStreaming?: boolean;
  /** Extra `source` settings, e.g. `snapshotBatchSize: 2000`. */
  readonly source?: string;
  readonly onDelivered?: (events: readonly ChangeEvent[]) => void;
}

async function start(name: string, src: string, dst: string, snapshot: string, o: StartOptions = {}): Promise<CdcPipeline> {
  const loaded = parseCdcConfig(`source: { url: "${pgs.url(src)}", slot: ${name}, publication: ${name}, tables: [t], snapshot: ${snapshot}, heartbeat: 100ms${o.source ? `, ${o.source}` : ''} }
topicPrefix: p
transport: { kind: direct }
sinks: [{ name: s, url: "${pgs.url(dst)}", tables: [{ from: t, to: t }] }]
`, `${name}.yaml`);
  if (!loaded.ok) throw new Error(formatProblems(loaded.problems));
  const checked = await checkAgainstDatabases(loaded.model, loaded.locate);
  if (!checked.ok) throw new Error(formatProblems(checked.problems));
  const p = new CdcPipeline(checked.model, checked.catalog, { logger: silentLogger(), registry: createRegistry(), onSnapshotProgress: (x) => o.progress?.push(x), ...(o.onDelivered ? { onDelivered: o.onDelivered } : {}) });
  await p.start();
  if (o.waitStreaming ?? true) await waitFor(async () => (await p.status()).source.phase === 'streaming', 'streaming');
  return p;
}

const rowsOf = (url: string) => withClient(url, async (c) => (await c.query('select id, v from t order by id')).rows);

describe('snapshot modes', () => {
  it('never: existing rows are not copied, later changes are', async () => {
    const { src, dst } = await setup('never', 10);
    const p = await start('never_slot', src, dst, 'never');
    try {
      await withClient(pgs.url(src), (c) => c.query("insert into t values (100, 'new')"));
      await waitFor(async () => (await rowsOf(pgs.url(dst))).length === 1, 'insert streamed');
      expect(await rowsOf(pgs.url(dst))).toEqual([{ id: 100, v: 'new' }]);
    } finally {
      await p.stop();
    }
  });

  it('initial reports per-table progress; always re-snapshots on restart and the stream replays deletes made while stopped', async () => {
    const { src, dst } = await setup('always', 3000);
    const progress: SnapshotProgress[] = [];
    let p = await start('always_slot', src, dst, 'initial', { progress });
    await p.stop();
    expect(progress.at(-1)).toMatchObject({ table: 'public.t', rows: 3000, done: true });
    expect(progress.at(-1)?.rowsPerSecond).toBeGreaterThan(0);
    expect(await rowsOf(pgs.url(dst))).toHaveLength(3000);
    await withClient(pgs.url(src), async (c) => {
      await c.query("update t set v = 'changed' where id <= 10");
      await c.query('delete from t where id between 11 and 20');
      await c.query("insert into t values (5000, 'late')");
    });
    const again: SnapshotProgress[] = [];
    p = await start('always_slot', src, dst, 'always', { progress: again });
    try {
      expect(again.at(-1)).toMatchObject({ rows: 2991, done: true });
      await waitFor(async () => JSON.stringify(await rowsOf(pgs.url(dst))) === JSON.stringify(await rowsOf(pgs.url(src))), 'sink equals source');
    } finally {
      await p.stop();
    }
  });

  it('initial: a restart after the snapshot completed does not snapshot again', async () => {
    const { src, dst } = await setup('once', 50);
    let p = await start('once_slot', src, dst, 'initial');
    await p.stop();
    const again: SnapshotProgress[] = [];
    p = await start('once_slot', src, dst, 'initial', { progress: again });
    await p.stop();
    expect(again).toEqual([]);
    expect(await rowsOf(pgs.url(dst))).toHaveLength(50);
    // Only `ficus cdc drop` removes the slot and publication.
    const file = join(mkdtempSync(join(tmpdir(), 'ficus-drop-')), 'cdc.yaml');
    writeFileSync(file, `source: { url: "${pgs.url(src)}", slot: once_slot, publication: once_slot, tables: [t] }\ntopicPrefix: p\ntransport: { kind: direct }\nsinks: [{ name: s, url: "${pgs.url(dst)}", tables: [{ from: t, to: t }] }]\n`);
    const out: string[] = [];
    expect(await dropCdc(file, { io: { out: (x) => out.push(x), err: (x) => out.push(x) } })).toBe(0);
    expect(out).toEqual(['dropped slot once_slot and publication once_slot']);
    const left = await withClient(pgs.url(src), (c) => c.query("select 1 from pg_replication_slots where slot_name = 'once_slot' union all select 1 from pg_publication where pubname = 'once_slot'"));
    expect(left.rowCount).toBe(0);
  });

  it('cdc run serves Prometheus metrics (slot lag, events) and exits 0 on a stop signal', async () => {
    const { src, dst } = await setup('run', 20);
    const file = join(mkdtempSync(join(tmpdir(), 'ficus-run-')), 'cdc.yaml');
    writeFileSync(file, `source: { url: "${pgs.url(src)}", slot: run_slot, publication: run_pub, tables: [t], heartbeat: 100ms }\ntopicPrefix: p\ntransport: { kind: direct }\nsinks: [{ name: s, url: "${pgs.url(dst)}", tables: [{ from: t, to: t }] }]\n`);
    const err: string[] = [];
    let metricsUrl: string | null = null;
    const done = runCdc(file, { io: { out: () => {}, err: (x) => err.push(x) }, signals: ['SIGUSR2'], metricsPort: 0, logger: silentLogger(), onReady: (i) => { metricsUrl = i.metricsUrl; } });
    await waitFor(async () => (await rowsOf(pgs.url(dst))).length === 20, 'snapshot applied');
    await withClient(pgs.url(src), (c) => c.query("insert into t values (99, 'x')"));
    const text = await waitFor(async () => {
      const body = metricsUrl ? await (await fetch(metricsUrl)).text() : '';
      return /ficus_cdc_events_total\{table="public.t",op="c"\} 1/.test(body) && /ficus_cdc_slot_lag_bytes \d+/.test(body) ? body : null;
    }, 'metrics');
    expect(text).toContain('ficus_cdc_slot_lag_seconds');
    expect(text).toContain('ficus_cdc_snapshot_rows_total{table="public.t"} 20');
    process.emit('SIGUSR2', 'SIGUSR2');
    expect(await done).toBe(0);
    expect(err.join('\n')).toMatch(/^ficus cdc: config .*cdc\.yaml; slot run_slot, publication run_pub, tables public\.t; transport direct; sinks s; snapshot initial/);
    expect(err.join('\n')).toContain('ficus cdc: stopped');
  });

  it('a stop during the snapshot ends it early, and the next start repeats it to completion', async () => {
    const { src, dst } = await setup('abort', 100_000);
    let p = await start('abort_slot', src, dst, 'initial', { waitStreaming: false });
    await waitFor(async () => (await withClient(pgs.url(dst), (c) => c.query('select 1 from t limit 1'))).rowCount === 1, 'first snapshot rows');
    await p.stop();
    const state = await withClient(pgs.url(src), (c) => c.query("select completed_at from ficus_cdc_snapshot where slot = 'abort_slot'"));
    expect(state.rows[0].completed_at).toBeNull();
    expect((await rowsOf(pgs.url(dst))).length).toBeLessThan(100_000);
    p = await start('abort_slot', src, dst, 'initial');
    try {
      const n = await withClient(pgs.url(dst), async (c) => (await c.query('select count(*)::int as n from t')).rows[0].n);
      expect(n).toBe(100_000);
    } finally {
      await p.stop();
    }
  });

  it('a snapshot whose connection is killed mid-COPY is taken again in the same process, to an equal sink', async () => {
    const { src, dst } = await setup('killed', 100_000);
    // small batches: the sink's first rows arrive while the source's COPY is still running
    const p = await start('killed_slot', src, dst, 'initial', { waitStreaming: false, source: 'snapshotBatchSize: 2000' });
    try {
      await waitFor(async () => (await withClient(pgs.url(dst), (c) => c.query('select 1 from t limit 1'))).rowCount === 1, 'first snapshot rows');
      const killed = await withClient(pgs.url(src), (c) => c.query("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and query like 'COPY%'", [src]));
      expect(killed.rowCount).toBe(1);
      // the repeated snapshot (a temporary slot's, over rows the first one wrote) completes
      await withClient(pgs.url(src), (c) => c.query("update t set v = 'changed' where id <= 5"));
      await waitFor(async () => JSON.stringify(await rowsOf(pgs.url(dst))) === JSON.stringify(await rowsOf(pgs.url(src))), 'sink equals source', 60_000);
    } finally {
      await p.stop();
    }
  }, 90_000);
  it('ends a snapshot batch at snapshotBatchBytes of COPY text as well as at snapshotBatchSize rows', async () => {
    const { src, dst } = await setup('wide', 0);
    await withClient(pgs.url(src), (c) => c.query("insert into t select g, repeat('w', 1000) from generate_series(1, 30) g"));
    const batches: number[] = [];
    const p = await start('wide_slot', src, dst, 'initial', {
      source: 'snapshotBatchSize: 20, snapshotBatchBytes: 5000',
      onDelivered: (evs) => { if (evs[0]?.value?.op === 'r') batches.push(evs.length); },
    });
    try {
      // each row's line is ~1,005 bytes: a batch ends at its fifth row, long before 20 rows
      expect(batches).toEqual([5, 5, 5, 5, 5, 5]);
      expect(await rowsOf(pgs.url(dst))).toEqual(await rowsOf(pgs.url(src)));
    } finally {
      await p.stop();
    }
  });
});
