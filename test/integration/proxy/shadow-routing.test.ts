import { Agent, request } from 'undici';
import { ManualClock } from '../../../src/util/clock.js';
import { afterEach, describe, expect, it } from 'vitest';
import type { ShadowReport } from '../../../src/shadow/report/build-report.js';
import type { TestServer } from '../../helpers/http-servers.js';
import { startServer, until } from '../../helpers/http-servers.js';
import type { TestFicus } from '../../helpers/ficus-instance.js';
import { startTestFicus } from '../../helpers/ficus-instance.js';
import type { StartOptions } from '../../../src/main.js';
import { ShadowDispatcher } from '../../../src/shadow/shadow-dispatcher.js';
import { ShadowWorkerHost } from '../../../src/shadow/worker/shadow-worker-host.js';

const cleanup: (() => Promise<unknown> | void)[] = [];
const agent = new Agent({ connections: 16 });
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const idle = { utilization: () => 0, close() {} };

/** A users API; `variant` changes one field so the candidate differs from the monolith. */
async function usersApi(name: string, variant: (id: string) => Record<string, unknown> = () => ({})): Promise<TestServer & { hits: string[]; bodies: string[] }> {
  const hits: string[] = [];
  const bodies: string[] = [];
  const s = await startServer((req, res) => {
    hits.push(`${req.method} ${req.url} shadow=${req.headers['x-ficus-shadow'] ?? '-'}`);
    const id = (req.url ?? '').split('/').pop() ?? '';
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString('utf8'));
      const body = JSON.stringify({ data: { id, email: `User${id}@Example.com`, ...variant(id) }, served_by: name });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    });
  });
  cleanup.push(() => s.close());
  return Object.assign(s, { hits, bodies });
}

function rules(legacyUrl: string, usersUrl: string, mode: string, extra = ''): string {
  return `
version: 1
upstreams:
  legacy: { url: ${legacyUrl} }
  users: { url: ${usersUrl} }
routes:
  - name: users-read
    match: { path: /api/users/** }
    to: users
    mode: ${mode}
    shadow:
      writes: false
      compare: { ignore: ["$.served_by"] }
${extra}
default: legacy
`;
}

async function start(text: string, options: Partial<StartOptions> = {}): Promise<TestFicus> {
  const f = await startTestFicus(text, { accessLog: false, shadowLoadProbe: idle, ...options });
  cleanup.push(() => f.close());
  return f;
}

async function get(f: TestFicus, path: string, method = 'GET'): Promise<{ status: number; body: { served_by: string } }> {
  const r = await request(`${f.url}${path}`, { method: method as 'GET', dispatcher: agent, body: method === 'GET' ? undefined : '{}' });
  return { status: r.statusCode, body: (await r.body.json()) as { served_by: string } };
}

async function report(f: TestFicus): Promise<ShadowReport> {
  await f.shadow.idle();
  return (await (await request(`${f.adminUrl}/shadow/report`)).body.json()) as ShadowReport;
}

describe('shadow mode through the proxy', () => {
  it.each([
    ['a worker thread (the default)', {}, ShadowWorkerHost],
    ['the main thread', { shadowThread: 'main' }, ShadowDispatcher],
    ['the main thread when a clock is injected', { clock: new ManualClock(0) }, ShadowDispatcher],
  ] as const)('comparing on %s, answers from the monolith and reports 100 percent match for an identical candidate, grouped by endpoint', async (_where, options, engine) => {
    const legacy = await usersApi('legacy');
    const users = await usersApi('users');
    const f = await start(rules(legacy.url, users.url, 'shadow'), options);
    expect(f.shadow).toBeInstanceOf(engine);
    for (let i = 0; i < 20; i++) expect((await get(f, `/api/users/${i}`)).body.served_by).toBe('legacy');
    const r = await report(f);
    expect(r.routes).toHaveLength(1);
    expect(r.routes[0]).toMatchObject({ route: 'users-read', mode: 'shadow', primary: 'legacy', candidate: 'new', compared: 20, matchRate: 1 });
    expect(r.routes[0].endpoints.map((e) => e.endpoint)).toEqual(['GET /api/users/**']);
    expect(users.hits.every((h) => h.endsWith('shadow=1'))).toBe(true);
  });

  it('puts the one differing field at the top of the report', async () => {
    const legacy = await usersApi('legacy');
    const users = await usersApi('users', (id) => ({ email: `user${id}@example.com` }));
    const f = await start(rules(legacy.url, users.url, 'shadow'));
    for (let i = 0; i < 10; i++) await get(f, `/api/users/${i}`);
    const r = await report(f);
    expect(r.routes[0].matchRate).toBe(0);
    expect(r.routes[0].endpoints[0].topFields[0]).toMatchObject({ field: '$.data.email', count: 10 });
  });

  it('does not copy writes unless the route allows them', async () => {
    const legacy = await usersApi('legacy');
    const users = await usersApi('users');
    const f = await start(rules(legacy.url, users.url, 'shadow'));
    await get(f, '/api/users/1', 'POST');
    await get(f, '/api/users/2');
    await f.shadow.idle();
    expect(users.hits).toEqual(['GET /api/users/2 shadow=1']);
    const g = await start(rules(legacy.url, users.url, 'shadow').replace('writes: false', 'writes: true'));
    await get(g, '/api/users/3', 'POST');
    await g.shadow.idle();
    expect(users.hits).toContain('POST /api/users/3 shadow=1');
    // The copy carries the request body the forwarder captured while streaming it to the primary.
    expect(users.bodies.at(-1)).toBe('{}');
  });

  it('answers the client before a hanging candidate, and records the timeout', async () => {
    const legacy = await usersApi('legacy');
    let candidateArrived = false;
    const hang = await startServer(() => {
      candidateArrived = true; // never answers
    });
    cleanup.push(() => hang.close());
    const f = await start(rules(legacy.url, hang.url, 'shadow').replace('writes: false', 'writes: false\n      timeout: 200ms'));
    const answered = await get(f, '/api/users/1');
    expect(answered.body.served_by).toBe('legacy');
    await until(() => candidateArrived, 2000, 'copy to reach the candidate');
    const r = await report(f);
    expect(Object.values(r.routes[0].errors).reduce((a, b) => a + b, 0)).toBe(1);
  });

  it('in live mode answers from the new service and compares the monolith as the candidate', async () => {
    const legacy = await usersApi('legacy');
    const users = await usersApi('users');
    const f = await start(rules(legacy.url, users.url, 'live'));
    expect((await get(f, '/api/users/5')).body.served_by).toBe('users');
    const r = await report(f);
    expect(r.routes[0]).toMatchObject({ mode: 'live', primary: 'new', candidate: 'legacy', compared: 1, matchRate: 1 });
    expect(legacy.hits).toEqual(['GET /api/users/5 shadow=1']);
  });

  it('walks a route through its modes with one flag variation', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const legacy = await usersApi('legacy');
    const users = await usersApi('users');
    const file = join(mkdtempSync(join(tmpdir(), 'ficus-modes-')), 'flags.yaml');
    const flags = (v: string) => `flags:\n  users-mode:\n    variations: [legacy, shadow, live, migrated]\n    variation: ${v}\n    fallthrough: ${v}\n    offVariation: legacy\n`;
    writeFileSync(file, flags('shadow'));
    const f = await start(`
version: 1
upstreams: { monolith: { url: ${legacy.url} }, users: { url: ${users.url} } }
flags: { provider: local, file: ${file} }
routes:
  - name: users-read
    match: { path: /api/users/** }
    to: users
    legacy: monolith
    flag:
      key: users-mode
      context: { key: header:x-user-id }
      variations: { legacy: legacy, shadow: shadow, live: live, migrated: migrated }
      default: legacy
    shadow: { compare: { ignore: ["$.served_by"] } }
default: monolith
`);
    const as = async () => (await request(`${f.url}/api/users/1`, { headers: { 'x-user-id': 'u1' } })).body.json() as Promise<{ served_by: string }>;
    expect((await as()).served_by).toBe('legacy');
    await f.shadow.idle();
    expect(users.hits).toHaveLength(1); // the shadow copy
    writeFileSync(file, flags('migrated'));
    await until(async () => (await as()).served_by === 'users', 5000, 'flip to migrated');
  });
});
