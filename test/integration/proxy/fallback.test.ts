import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { ManualClock } from '../../../src/util/clock.js';
import { startServer } from '../../helpers/http-servers.js';
import { startTestFicus } from '../../helpers/ficus-instance.js';
import type { TestFicus } from '../../helpers/ficus-instance.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

interface Counting {
  readonly url: string;
  hits: number;
  status: number;
  close(): Promise<void>;
}

async function counting(name: string, status = 200): Promise<Counting> {
  const state = { url: '', hits: 0, status, close: async () => {} };
  const s = await startServer((_req, res) => {
    state.hits++;
    res.writeHead(state.status, { 'content-type': 'text/plain' });
    res.end(name);
  });
  state.url = s.url;
  state.close = () => s.close();
  cleanup.push(() => s.close());
  return state;
}

async function ficusWith(rules: string, clock?: ManualClock): Promise<TestFicus> {
  const f = await startTestFicus(rules, clock ? { clock } : {});
  cleanup.push(() => f.close());
  return f;
}

async function call(f: TestFicus, method = 'GET', body?: string) {
  const r = await request(`${f.url}/api/users/1`, { method: method as 'GET', body });
  return { status: r.statusCode, text: await r.body.text(), fallback: r.headers['x-ficus-fallback'] };
}

describe('fallback to the monolith', () => {
  it('serves a GET from the fallback when the new service refuses connections', async () => {
    const legacy = await counting('legacy');
    const dead = await counting('dead');
    await dead.close();
    const f = await ficusWith(`
version: 1
upstreams: { legacy: { url: ${legacy.url} }, users: { url: ${dead.url} } }
routes: [ { name: users, match: { path: /api/users/** }, to: users, fallback: legacy } ]
default: legacy
`);
    expect(await call(f)).toEqual({ status: 200, text: 'legacy', fallback: 'connect-refused' });
    const line = f.logs.find((l) => l.message === 'request');
    expect(line).toMatchObject({ route: 'users', upstream: 'legacy', fallback: 'connect-refused', status: 200 });
    // a request with a body is never replayed: it could have had an effect
    expect((await call(f, 'POST', 'x')).status).toBe(502);
  });

  it('opens the circuit after consecutive failures, bypasses the new service, and closes after a good trial', async () => {
    const clock = new ManualClock(1_000);
    const legacy = await counting('legacy');
    const users = await counting('users', 500);
    const f = await ficusWith(
      `
version: 1
upstreams:
  legacy: { url: ${legacy.url} }
  users: { url: ${users.url}, breaker: { failures: 3, cooldown: 10s } }
routes: [ { name: users, match: { path: /api/users/** }, to: users, fallback: legacy } ]
default: legacy
`,
      clock,
    );
    for (let i = 0; i < 3; i++) expect((await call(f)).status).toBe(500); // 5xx are relayed, and counted
    expect(f.proxy.breakerState('users')).toBe('open');
    expect(await call(f)).toEqual({ status: 200, text: 'legacy', fallback: 'circuit-open' });
    expect(users.hits).toBe(3);

    clock.advance(10_001);
    users.status = 200;
    expect(await call(f)).toMatchObject({ status: 200, text: 'users' }); // the half-open trial
    expect(f.proxy.breakerState('users')).toBe('closed');
    expect((await call(f)).text).toBe('users');
  });

  it('answers 503 FICUS_ERR_CIRCUIT_OPEN when the circuit is open and the route has no fallback', async () => {
    const clock = new ManualClock(0);
    const users = await counting('users', 503);
    const f = await ficusWith(
      `
version: 1
upstreams: { users: { url: ${users.url}, breaker: { failures: 1, cooldown: 1m } } }
default: users
`,
      clock,
    );
    expect((await call(f)).status).toBe(503);
    const r = await request(`${f.url}/api/users/1`);
    expect(r.statusCode).toBe(503);
    expect(((await r.body.json()) as { error: { code: string } }).error.code).toBe('FICUS_ERR_CIRCUIT_OPEN');
    expect(users.hits).toBe(1);
  });
});
