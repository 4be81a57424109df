import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Command } from 'commander';
import express from 'express';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { FicusError } from '../../../src/errors.js';
import { MemoryRecorder } from '../../../src/shadow/record/memory-recorder.js';
import type { ShadowReport } from '../../../src/shadow/report/build-report.js';
import { shadowReportRouter } from '../../../src/shadow/report/report-router.js';
import { registerShadowCommands } from '../../../src/shadow/report/shadow-commands.js';

const roles = { primary: 'legacy', candidate: 'new' } as const;

function recorderWithData(): MemoryRecorder {
  const r = new MemoryRecorder();
  const diff = { path: '$.price', field: '$.price', kind: 'changed' as const, primary: 10, candidate: 11 };
  for (let i = 0; i < 3; i++) r.recordComparison({ route: 'users-read', endpoint: 'GET /api/users/:id', roles, at: i, outcome: { kind: 'compared', diffs: [] }, sample: null });
  r.recordComparison({ route: 'users-read', endpoint: 'GET /api/users/:id', roles, at: 4, outcome: { kind: 'compared', diffs: [diff] }, sample: null });
  r.recordComparison({ route: 'users-read', endpoint: 'GET /api/users/:id', roles, at: 5, outcome: { kind: 'skipped', reason: 'too-large' }, sample: null });
  r.recordDropped('users-read', 'GET /api/users/:id', roles, 'queue-full');
  r.recordComparison({ route: 'orders', endpoint: 'GET /api/orders', roles, at: 6, outcome: { kind: 'error', reason: 'timeout' }, sample: null });
  return r;
}

const servers: Server[] = [];
afterEach(async () => {
  while (servers.length > 0) {
    const s = servers.pop()!;
    await new Promise((r) => s.close(r));
  }
});

async function adminUrl(recorder: MemoryRecorder): Promise<string> {
  const app = express();
  app.use(shadowReportRouter({ recorder }));
  const s = app.listen(0, '127.0.0.1');
  servers.push(s);
  await new Promise((r) => s.once('listening', r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

async function runCli(args: string[]): Promise<string> {
  let out = '';
  const program = new Command().name('ficus').exitOverride();
  registerShadowCommands(program, { out: (t) => (out += t) });
  await program.parseAsync(['node', 'ficus', ...args]);
  return out;
}

describe('GET /shadow/report', () => {
  it('reports per route and endpoint, filtered by ?route', async () => {
    const app = express().use(shadowReportRouter({ recorder: recorderWithData() }));
    const all = await request(app).get('/shadow/report').expect(200);
    expect((all.body as ShadowReport).routes.map((r) => r.route)).toEqual(['orders', 'users-read']);
    const one = await request(app).get('/shadow/report?route=users-read').expect(200);
    const [route] = (one.body as ShadowReport).routes;
    expect(route).toMatchObject({ route: 'users-read', compared: 4, matched: 3, matchRate: 0.75, skipped: { 'too-large': 1 }, dropped: 1 });
    expect(route.endpoints[0].topFields[0]).toMatchObject({ field: '$.price', count: 1, rate: 0.25, noise: false });
  });

  it('rejects a samples query without route and endpoint', async () => {
    const app = express().use(shadowReportRouter({ recorder: recorderWithData() }));
    await request(app).get('/shadow/samples').expect(400);
    const ok = await request(app).get('/shadow/samples').query({ route: 'users-read', endpoint: 'GET /api/users/:id' }).expect(200);
    expect(ok.body).toEqual({ samples: [] });
  });
});

describe('ficus shadow report', () => {
  it('prints a table from the admin API, and JSON with --json', async () => {
    const url = await adminUrl(recorderWithData());
    const table = await runCli(['shadow', 'report', '--admin', url]);
    expect(table).toContain('route users-read — shadow mode: primary legacy, candidate new');
    expect(table).toContain('compared 4, match 75.0%, noise-adjusted 75.0%, errors 0, skipped 1 (too-large 1), dropped 1 (queue-full 1)');
    expect(table).toMatch(/\$\.price\s+1\s+25\.0%.*\$\.price: 10 → 11/);
    expect(table).toContain('errors 1 (timeout 1)');
    const json = JSON.parse(await runCli(['shadow', 'report', '--admin', url, '--route', 'orders', '--json'])) as ShadowReport;
    expect(json.routes.map((r) => [r.route, r.errors])).toEqual([['orders', { timeout: 1 }]]);
  });

  it('says which admin URL it cannot reach', async () => {
    const url = await adminUrl(new MemoryRecorder());
    const s = servers.pop()!;
    await new Promise((r) => s.close(r));
    const err = await runCli(['shadow', 'report', '--admin', url]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FicusError);
    expect((err as FicusError).code).toBe('FICUS_ERR_ADMIN_UNREACHABLE');
    expect((err as FicusError).message).toContain(url);
  });

  it('says so when nothing was recorded', async () => {
    expect(await runCli(['shadow', 'report', '--admin', await adminUrl(new MemoryRecorder())])).toBe('No shadow comparisons recorded yet.\n');
  });
});
