import type { Knex } from 'knex';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/observability/logger.js';
import { PgRecorder } from '../../../src/shadow/record/pg-recorder.js';
import { SHADOW_MIGRATIONS_TABLE } from '../../../src/shadow/record/shadow-migrations.js';
import { MATCHED } from '../../../src/shadow/record/shadow-record.js';
import { buildShadowReport } from '../../../src/shadow/report/build-report.js';
import { ShadowDispatcher } from '../../../src/shadow/shadow-dispatcher.js';
import { compileShadowPolicy } from '../../../src/shadow/shadow-policy.js';
import { createFreshDatabase } from '../../helpers/shadow-database.js';
import type { TestServer } from '../../helpers/shadow-harness.js';
import { callAndShadow, sendJson, startServer } from '../../helpers/shadow-harness.js';

let db: Awaited<ReturnType<typeof createFreshDatabase>>;
let knex: Knex;
beforeAll(async () => {
  db = await createFreshDatabase('ficus_shadow');
  knex = db.knex;
});
afterAll(async () => {
  await db.drop();
});

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()!();
  for (const t of ['shadow_samples', 'shadow_signatures', 'shadow_fields', 'shadow_counters', 'shadow_endpoints']) await knex(t).del().catch(() => {});
});

async function server(handler: Parameters<typeof startServer>[0]): Promise<TestServer> {
  const s = await startServer(handler);
  cleanup.push(() => s.close());
  return s;
}

async function engine(samplesPerEndpoint = 50) {
  const recorder = await PgRecorder.open({ knex, samplesPerEndpoint, flushIntervalMs: 60_000 });
  const shadow = new ShadowDispatcher({ recorder, random: () => 0, loadProbe: { utilization: () => 0, close: () => {} } });
  cleanup.push(async () => {
    await shadow.close();
    await recorder.close();
  });
  return { recorder, shadow };
}

const SECRETS = ['Bearer sup3r-s3cret-t0ken', 'sup3r-s3cret-t0ken', 'sessi0n-c00kie-value', 'hunter2-passw0rd', 'k3y-0f-the-api'];

describe('PgRecorder (Postgres through knex)', () => {
  it('runs its migration once through the migration source', async () => {
    await engine();
    await engine();
    const rows = await knex(SHADOW_MIGRATIONS_TABLE).select('name');
    expect(rows.map((r: { name: string }) => r.name)).toEqual(['20261129_shadow']);
  });

  it('never stores a secret: headers, JSON paths and secrets echoed in text are redacted before insert', async () => {
    // Legacy and new both echo the credentials back; the new service also echoes the password in a text field.
    const echo = (variant: string) => (req: { headers: Record<string, unknown>; body: string }, res: Parameters<typeof sendJson>[0]) => {
      const body = JSON.parse(req.body) as Record<string, string>;
      sendJson(res, 200, { variant, password: body.password, note: variant === 'new' ? `login failed for password ${body.password}` : 'ok', auth: req.headers.authorization ?? null }, { 'x-api-key': 'k3y-0f-the-api' });
    };
    const legacy = await server(echo('legacy'));
    const next = await server(echo('new'));
    const { recorder, shadow } = await engine();
    const policy = compileShadowPolicy({ writes: true, forward: { authorization: true }, compare: { headers: ['x-api-key'] }, redact: ['headers.x-api-key', '$.password'] });
    for (let i = 0; i < 3; i++) {
      await callAndShadow(shadow, {
        route: 'login', endpoint: 'POST /login', policy, method: 'POST', path: '/login',
        headers: { 'content-type': 'application/json', authorization: SECRETS[0], cookie: `sid=${SECRETS[2]}` },
        body: JSON.stringify({ user: 'ann', password: SECRETS[3] }),
        primaryOrigin: legacy.origin, candidateOrigin: next.origin,
      });
    }
    await shadow.idle();
    const report = await buildShadowReport(recorder);
    const [ep] = report.routes[0].endpoints;
    expect(ep).toMatchObject({ compared: 3, matched: 0, samplesStored: 3 });
    // The mismatch really was stored (the search below would pass vacuously otherwise).
    const [sample] = await recorder.samples('login', 'POST /login', 1);
    expect(sample.request.headers.authorization).toBe('[REDACTED]');
    expect(sample.diffs.map((d) => d.path)).toEqual(expect.arrayContaining(['$.note', '$.variant']));
    // Search every stored row of every shadow table for every secret.
    for (const table of ['shadow_samples', 'shadow_fields', 'shadow_signatures', 'shadow_counters', 'shadow_endpoints']) {
      const rows = await knex.raw(`select t::text as row from ${table} t`);
      const text = (rows.rows as { row: string }[]).map((r) => r.row).join('\n');
      expect(text.length).toBeGreaterThan(0);
      for (const secret of SECRETS) expect(text, `${table} must not contain ${secret}`).not.toContain(secret);
    }
  });

  it('keeps only the newest samples per route and endpoint, and adds counters across flushes', async () => {
    const legacy = await server((req, res) => sendJson(res, 200, { n: Number(req.url.split('/').pop()) }));
    const next = await server((req, res) => sendJson(res, 200, { n: -Number(req.url.split('/').pop()) }));
    const { recorder, shadow } = await engine(3);
    const policy = compileShadowPolicy({});
    for (let i = 1; i <= 10; i++) {
      await callAndShadow(shadow, { route: 'r', endpoint: 'GET /n/:n', policy, path: `/n/${i}`, primaryOrigin: legacy.origin, candidateOrigin: next.origin });
      // Flush after some requests so retention is enforced across several inserts.
      if (i % 4 === 0) {
        await shadow.idle();
        await recorder.flush();
      }
    }
    await shadow.idle();
    const report = await buildShadowReport(recorder);
    expect(report.routes[0].endpoints[0]).toMatchObject({ compared: 10, matched: 0, samplesStored: 3 });
    expect(report.routes[0].endpoints[0].topFields[0]).toMatchObject({ field: '$.n', count: 10, example: { primary: 1, candidate: -1 } });
    const kept = await recorder.samples('r', 'GET /n/:n');
    expect(kept.map((s) => s.request.path)).toEqual(['/n/10', '/n/9', '/n/8']);
  });

  it('logs a failed write with its code and keeps going, never throwing into the proxy', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'error', destination: { write: (l: string) => void lines.push(l) } });
    const recorder = await PgRecorder.open({ knex, flushIntervalMs: 60_000, logger });
    const roles = { primary: 'legacy', candidate: 'new' } as const;
    await knex.schema.renameTable('shadow_counters', 'shadow_counters_away');
    try {
      recorder.recordComparison({ route: 'r', endpoint: 'GET /', roles, at: 0, outcome: { kind: 'compared', diffs: [] }, sample: null });
      await expect(recorder.flush()).resolves.toBeUndefined();
      expect(lines.join('')).toContain('"code":"FICUS_ERR_SHADOW_RECORD"');
    } finally {
      await knex.schema.renameTable('shadow_counters_away', 'shadow_counters');
    }
    // The next batch is written normally.
    recorder.recordComparison({ route: 'r', endpoint: 'GET /', roles, at: 1, outcome: { kind: 'compared', diffs: [] }, sample: null });
    expect((await buildShadowReport(recorder)).routes[0]).toMatchObject({ compared: 1, matched: 1 });
    await recorder.close();
  });

  it('stores a record that stands for a run of matches as that many comparisons', async () => {
    const recorder = await PgRecorder.open({ knex, flushIntervalMs: 60_000 });
    const roles = { primary: 'legacy', candidate: 'new' } as const;
    recorder.recordComparison({ route: 'runs', endpoint: 'GET /', roles, at: 0, outcome: MATCHED, sample: null }, 280);
    recorder.recordComparison({ route: 'runs', endpoint: 'GET /', roles, at: 1, outcome: MATCHED, sample: null });
    expect((await buildShadowReport(recorder, { route: 'runs' })).routes[0]).toMatchObject({ compared: 281, matched: 281, matchRate: 1 });
    await recorder.close();
  });

  it('persists live-mode labels and noise statistics for the report', async () => {
    let seq = 0;
    const legacy = await server((_req, res) => sendJson(res, 200, { a: 1, at: ++seq }));
    const next = await server((_req, res) => sendJson(res, 200, { a: 1, at: 0 }));
    const { recorder, shadow } = await engine();
    // Live mode: new answers, legacy is the candidate and also the secondary.
    const policy = compileShadowPolicy({ noise: { secondary: 'legacy', sample: 1 } });
    for (let i = 0; i < 12; i++) {
      await callAndShadow(shadow, { route: 'live', endpoint: 'GET /x', mode: 'live', policy, path: '/x', primaryOrigin: next.origin, candidateOrigin: legacy.origin, secondaryOrigin: legacy.origin });
    }
    await shadow.idle();
    const [route] = (await buildShadowReport(recorder)).routes;
    expect(route).toMatchObject({ route: 'live', mode: 'live', primary: 'new', candidate: 'legacy', compared: 12, matched: 0, noiseAdjustedMatchRate: 1 });
    expect(route.endpoints[0].topFields[0]).toMatchObject({ field: '$.at', noise: true, secondaryCount: 12 });
  });
});
