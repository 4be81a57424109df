import { spawn, execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddedPg } from '../../src/util/embedded-postgres.js';
import { startEmbeddedPostgres } from '../../src/util/embedded-postgres.js';
import { seededRandom } from '../../src/util/clock.js';
import { checkAgainstDatabases } from '../../src/cdc/config/check-databases.js';
import { loadCdcConfig } from '../../src/cdc/config/load-cdc-config.js';
import { createSink } from '../../src/cdc/sink/knex-sink.js';
import { createDatabase, waitFor, withClient } from '../helpers/cdc-fixtures.js';

/**
 * THE crash test. A real `ficus cdc run` process (compiled JS: `node dist/src/cli/cdc-main.js`,
 * built once by `tsc` in beforeAll — TypeScript cannot be spawned directly with plain node) is
 * killed with SIGKILL at 20 random moments while a mixed workload writes to the source: small
 * inserts, updates, deletes, one 50k-row transaction, a primary key change and a TOASTed column.
 * After each kill it is restarted. At the end the sink must equal the source, and a trigger-fed
 * audit log in the sink proves no change was applied twice in effect: per row, the applied values
 * never go backwards and nothing comes back after its delete.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'dist/src/cli/cdc-main.js');
const KILLS = 20;
const INITIAL_ROWS = Number(process.env.FICUS_CRASH_INITIAL_ROWS ?? 30_000);


let pgs: EmbeddedPg;
let dir: string;

beforeAll(async () => {
  // Build once; tsc still emits when someone else's file has a type error, which is enough here.
  try {
    execFileSync('npx', ['tsc', '-p', '.'], { cwd: ROOT, stdio: 'pipe' });
  } catch {
    if (!existsSync(CLI)) throw new Error('build failed and dist/src/cli/cdc-main.js is missing');
  }
  pgs = await startEmbeddedPostgres();
  dir = mkdtempSync(join(tmpdir(), 'ficus-crash-'));
}, 240_000);

afterAll(async () => {
  await pgs?.stop();
});

interface Run {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  log: string;
}

function startRun(config: string): Run {
  const child = spawn(process.execPath, [CLI, 'cdc', 'run', '--config', config], { cwd: ROOT, env: { ...process.env, FICUS_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const run: Run = { child, exited: new Promise((r) => child.on('exit', (code) => r(code))), log: '' };
  child.stdout?.on('data', (d: Buffer) => { run.log = (run.log + d.toString()).slice(-20_000); });
  child.stderr?.on('data', (d: Buffer) => { run.log = (run.log + d.toString()).slice(-20_000); });
  return run;
}

async function crashScenario(kind: 'direct' | 'redis', seed: number): Promise<void> {
  const random = seededRandom(seed);
  const tag = `${kind}_${seed}`;
  const src = `crash_src_${tag}`;
  const dst = `crash_dst_${tag}`;
  await createDatabase(pgs.url(), src);
  await createDatabase(pgs.url(), dst);
  await withClient(pgs.url(src), async (c) => {
    await c.query('create table items (id bigint primary key, val int not null, note text, payload text)');
    await c.query(`insert into items (id, val, note) select g, 1, 'n' || g from generate_series(1, ${INITIAL_ROWS}) g`);
  });
  await withClient(pgs.url(dst), async (c) => {
    await c.query('create table items (id bigint primary key, val int, note text, payload text)');
    await c.query('create table audit (n bigserial primary key, id bigint, val int, op text)');
    await c.query(`create function audit_items() returns trigger language plpgsql as $$
      begin
        if tg_op = 'DELETE' then insert into audit (id, val, op) values (old.id, old.val, 'D'); return old; end if;
        insert into audit (id, val, op) values (new.id, new.val, left(tg_op, 1)); return new;
      end $$`);
    await c.query('create trigger items_audit after insert or update or delete on items for each row execute function audit_items()');
  });
  // Diagnostics: every guard position written, to explain a failure.
  const addPositionAudit = () => withClient(pgs.url(dst), async (c) => {
    await c.query("create table if not exists pos_audit (n bigint primary key default nextval('audit_n_seq'), row_key text, lsn pg_lsn, seq bigint, deleted boolean)");
    await c.query(`create or replace function audit_pos() returns trigger language plpgsql as $$
      begin insert into pos_audit (row_key, lsn, seq, deleted) values (new.row_key, new.lsn, new.seq, new.deleted); return new; end $$`);
    await c.query('drop trigger if exists pos_audit on ficus_cdc_row_position');
    await c.query('create trigger pos_audit after insert or update on ficus_cdc_row_position for each row execute function audit_pos()');
  });
  const prefix = `crash${seed}`;
  const transport = kind === 'direct' ? '{ kind: direct }' : '{ kind: redis, url: "redis://127.0.0.1:6379", maxLen: 1000000 }';
  const config = join(dir, `${tag}.yaml`);
  writeFileSync(config, `source:
  url: ${pgs.url(src)}
  slot: slot_${tag}
  publication: pub_${tag}
  tables: [public.items]
  heartbeat: 250ms
topicPrefix: ${prefix}
transport: ${transport}
sinks:
  - name: svc
    url: ${pgs.url(dst)}
    tables:
      - { from: public.items, to: items }
`);

  // The workload: runs until told to stop, and includes each special case once.
  let stop = false;
  let nextId = INITIAL_ROWS + 1;
  const live = new Set<number>(Array.from({ length: INITIAL_ROWS }, (_, i) => i + 1));
  // Row 7 carries the TOASTed payload and is never deleted or re-keyed.
  const pick = () => { const arr = [...live]; const id = arr[Math.floor(random() * arr.length)]; return id === 7 ? 8 : id; };
  const specials = ['big-txn', 'pk-change', 'toast-set', 'toast-keep'];
  const workload = withClient(pgs.url(src), async (c) => {
    let ops = 0;
    while (!stop) {
      const r = random();
      if (specials.length > 0 && ops % 15 === 5) {
        const s = specials.shift();
        if (s === 'big-txn') {
          await c.query(`insert into items (id, val, note) select g, 1, 'big' from generate_series(${nextId}, ${nextId + 49_999}) g`);
          for (let i = nextId; i < nextId + 50_000; i++) live.add(i);
          nextId += 50_000;
        } else if (s === 'pk-change') {
          const id = pick();
          await c.query('update items set id = $2, val = val + 1 where id = $1', [id, nextId]);
          live.delete(id);
          live.add(nextId++);
        } else if (s === 'toast-set') {
          await c.query("update items set payload = (select string_agg(md5(g::text), '') from generate_series(1, 500) g), val = val + 1 where id = 7");
        } else {
          await c.query('update items set val = val + 1 where id = 7'); // payload unchanged: TOAST not in the WAL
        }
      } else if (r < 0.4) {
        const n = 1 + Math.floor(random() * 300);
        await c.query(`insert into items (id, val, note) select g, 1, 'w' from generate_series(${nextId}, ${nextId + n - 1}) g`);
        for (let i = 0; i < n; i++) live.add(nextId + i);
        nextId += n;
      } else if (r < 0.8) {
        const ids = Array.from({ length: 1 + Math.floor(random() * 200) }, pick);
        await c.query('update items set val = val + 1 where id = any($1::bigint[])', [ids]);
      } else {
        const ids = Array.from({ length: 1 + Math.floor(random() * 5) }, pick);
        await c.query('delete from items where id = any($1::bigint[])', [ids]);
        for (const id of ids) live.delete(id);
      }
      ops++;
      await new Promise((res) => setTimeout(res, 2));
    }
    while (specials.length > 0) specials.shift(); // (all four run within the first 60 ops)
    return ops;
  });

  {
    const loaded = await loadCdcConfig(config);
    if (!loaded.ok) throw new Error('config');
    const checked = await checkAgainstDatabases(loaded.model, loaded.locate);
    if (!checked.ok) throw new Error('config check');
    const sink = await createSink(checked.model.sinks[0], { sourceId: checked.model.source.slot });
    await sink.migrate();
    await sink.close();
  }
  await addPositionAudit();
  // 1. Start, kill at random moments, restart — 20 times.
  for (let k = 0; k < KILLS; k++) {
    const run = startRun(config);

    // Even kills land anywhere from start-up through the snapshot; odd kills land while streaming,
    // where acks race the sink commits.
    if (k % 2 === 1) await waitFor(async () => run.log.includes('streaming from slot') || run.child.exitCode !== null, 'streaming', 60_000, 20);
    const wait = k % 2 === 1 ? Math.floor(random() * 800) : 300 + Math.floor(random() * 1700);
    const early = await Promise.race([run.exited.then((code) => ({ code })), new Promise<null>((r) => setTimeout(() => r(null), wait))]);
    if (early) throw new Error(`cdc run exited on its own with ${early.code} before kill ${k}:\n${run.log}`);
    run.child.kill('SIGKILL');
    await run.exited;
  }
  stop = true;
  const ops = await workload;
  expect(ops).toBeGreaterThan(60);

  // 2. A final run catches up; SIGTERM then flushes, acks and exits 0.
  const final = startRun(config);
  const digest = (url: string) => withClient(url, async (c) => (await c.query<{ n: string; h: string }>(
    "select count(*)::text as n, coalesce(md5(string_agg(id || ':' || val || ':' || coalesce(note, '~') || ':' || coalesce(md5(payload), '~'), ',' order by id)), '') as h from items")).rows[0]);
  const expected = await digest(pgs.url(src));
  await waitFor(async () => {
    const got = await digest(pgs.url(dst));
    return got.n === expected.n && got.h === expected.h;
  }, `sink equal to source after restarts (${kind})\n${final.log}`, 90_000, 250);
  final.child.kill('SIGTERM');
  expect(await final.exited).toBe(0);
  // `ficus cdc reconcile` agrees: exit 0 means every chunk hash matched.
  const rec = spawn(process.execPath, [CLI, 'cdc', 'reconcile', '--config', config, '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let recOut = '';
  rec.stdout?.on('data', (d: Buffer) => { recOut += d.toString(); });
  rec.stderr?.on('data', (d: Buffer) => { recOut += d.toString(); });
  const recCode = await new Promise<number | null>((r) => rec.on('exit', (code) => r(code)));
  expect(recCode, recOut).toBe(0);
  expect(recOut).toContain('"equal":true');

  // 3. No change applied twice in effect: per id, values applied never go backwards, nothing
  //    reappears after its delete, and the TOASTed payload survived the update that did not carry it.
  const bad = await withClient(pgs.url(dst), async (c) => (await c.query(`
    select id, n, op, val, lag(val) over w as prev_val, lag(op) over w as prev_op from audit window w as (partition by id order by n)`)).rows
    .filter((r) => (r.prev_val !== null && r.op !== 'D' && r.prev_op !== 'D' && r.val < r.prev_val) || (r.prev_op === 'D' && r.op !== 'D')));
  if (bad.length > 0) {
    // Show the whole history of the first offending row, with the guard's stored positions, to debug.
    const history = await withClient(pgs.url(dst), async (c) => (await c.query('select n, op, val from audit where id = $1 order by n', [bad[0].id])).rows);
    const src = await withClient(pgs.url(dst), async (c) => (await c.query('select count(*) from audit')).rows);
    console.log(`audit rows ${JSON.stringify(src)}`);
    console.log(`history of id ${bad[0].id}: ${JSON.stringify(history)}`);
    const positions = await withClient(pgs.url(dst), async (c) => (await c.query("select n, lsn::text, seq, deleted from pos_audit where row_key = $1 order by n", [`[${bad[0].id}]`])).rows).catch((e: Error) => e.message);
    console.log(`guard positions of id ${bad[0].id}: ${JSON.stringify(positions)}`);
  }
  expect(bad).toEqual([]);
  const payload = await withClient(pgs.url(dst), async (c) => (await c.query('select length(payload) as l from items where id = 7')).rows[0]);
  expect(payload.l).toBe(16_000);

  if (kind === 'redis') {
    const redis = new Redis('redis://127.0.0.1:6379');
    const keys = await redis.keys(`${prefix}.*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }
}

describe('cdc run survives SIGKILL at any moment', () => {
  it('direct transport: 20 kills during a mixed workload, then equal and nothing applied twice', async () => {
    const seed = Number(process.env.FICUS_CRASH_SEED ?? Date.now() % 100_000);
    console.log(`crash test (direct) seed ${seed}`);
    await crashScenario('direct', seed);
  }, 240_000);

  it('redis transport: 20 kills during a mixed workload, then equal and nothing applied twice', async () => {
    const seed = Number(process.env.FICUS_CRASH_SEED ?? (Date.now() + 1) % 100_000);
    console.log(`crash test (redis) seed ${seed}`);
    await crashScenario('redis', seed);
  }, 240_000);
});
