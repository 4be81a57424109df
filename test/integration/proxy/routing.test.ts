import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import type { EchoBody, TestServer } from '../../helpers/http-servers.js';
import { rawRequest, startEchoServer } from '../../helpers/http-servers.js';
import type { TestFicus } from '../../helpers/ficus-instance.js';
import { startTestFicus } from '../../helpers/ficus-instance.js';

let legacy: TestServer;
let users: TestServer;
let orders: TestServer;
let ficus: TestFicus;
const agent = new Agent({ connections: 32 });

function rules(): string {
  return `
version: 1
upstreams:
  legacy: { url: ${legacy.url} }
  users:  { url: ${users.url}, timeout: 5s }
  orders: { url: ${orders.url} }
routes:
  - name: users-read
    match: { path: /api/users/**, methods: [GET, HEAD] }
    to: users
  - name: user-by-id
    match: { path: /api/users/:id, methods: [GET] }
    to: orders
  - name: users-admin
    match: { path: /api/users/admin }
    to: legacy
  - name: star-profile
    match: { path: /api/*/profile }
    to: orders
  - name: api-catch-all
    match: { path: /api/** }
    to: legacy
  - name: orders-canary
    match: { path: /shop/orders/** }
    split: [ { to: users, weight: 10 }, { to: legacy, weight: 90 } ]
    sticky: header:x-user-id
  - name: beta-reports
    match: { path: /reports/:id, headers: { x-beta: "1" }, host: "*.example.com" }
    to: users
    rewrite: { stripPrefix: /reports, addPrefix: /v2/reports }
  - name: low-but-forced
    priority: 10
    match: { path: /forced/** }
    to: orders
  - name: forced-specific
    match: { path: /forced/exact }
    to: users
  - name: first-wins
    match: { path: /tie/:a }
    to: users
  - name: second-loses
    match: { path: /tie/:b }
    to: orders
  - name: cookie-split
    match: { path: /cookie/** }
    split: [ { to: users, weight: 50 }, { to: orders, weight: 50 } ]
    sticky: cookie:session
default: legacy
`;
}

async function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; body: EchoBody; headers: Record<string, unknown> }> {
  const r = await request(`${ficus.url}${path}`, { method: method as 'GET', headers, dispatcher: agent });
  const text = await r.body.text();
  return { status: r.statusCode, body: text ? (JSON.parse(text) as EchoBody) : ({} as EchoBody), headers: r.headers };
}

beforeAll(async () => {
  [legacy, users, orders] = await Promise.all([startEchoServer('legacy'), startEchoServer('users'), startEchoServer('orders')]);
  ficus = await startTestFicus(rules(), { accessLog: false });
});

afterAll(async () => {
  await ficus.close();
  await agent.close();
  await Promise.all([legacy.close(), users.close(), orders.close()]);
});

describe('route matching', () => {
  it('sends a GET under /api/users/** to users and a POST to the catch-all', async () => {
    expect((await get('/api/users/17/orders')).body.upstream).toBe('users');
    expect((await get('/api/users/17/orders', {}, 'POST')).body.upstream).toBe('legacy');
    expect((await get('/api/users/17/orders', {}, 'HEAD')).headers['x-upstream']).toBe('users');
  });

  it('prefers a param segment over ** and a literal over a param', async () => {
    expect((await get('/api/users/17')).body.upstream).toBe('orders'); // :id beats **
    expect((await get('/api/users/admin')).body.upstream).toBe('legacy'); // literal beats :id
  });

  it('matches * as exactly one segment', async () => {
    expect((await get('/api/anything/profile', {}, 'POST')).body.upstream).toBe('orders');
    expect((await get('/api/a/b/profile', {}, 'POST')).body.upstream).toBe('legacy');
  });

  it('lets priority override specificity', async () => {
    expect((await get('/forced/exact')).body.upstream).toBe('orders');
  });

  it('breaks ties by file order', async () => {
    expect((await get('/tie/1')).body.upstream).toBe('users');
  });

  it('requires host and header conditions and rewrites the path', async () => {
    const hit = await get('/reports/42', { 'x-beta': '1', host: 'app.example.com' });
    expect(hit.body.upstream).toBe('users');
    expect(hit.body.url).toBe('/v2/reports/42');
    expect((await get('/reports/42', { host: 'app.example.com' })).body.upstream).toBe('legacy');
    expect((await get('/reports/42', { 'x-beta': '1', host: 'example.com' })).body.upstream).toBe('legacy');
    expect((await get('/reports/42', { 'x-beta': '1', host: 'a.b.EXAMPLE.com:8080' })).body.upstream).toBe('users');
  });

  it('falls back to the default upstream', async () => {
    const r = await get('/nothing/here?x=1');
    expect(r.body.upstream).toBe('legacy');
    expect(r.body.url).toBe('/nothing/here?x=1');
  });
});

describe('weighted split', () => {
  it('splits 10/90 within 2% over 10k requests without a sticky key', async () => {
    const counts: Record<string, number> = { users: 0, legacy: 0 };
    const n = 10_000;
    for (let i = 0; i < n; i += 100) {
      const batch = await Promise.all(Array.from({ length: 100 }, () => get('/shop/orders/1')));
      for (const r of batch) counts[r.body.upstream]++;
    }
    expect(Math.abs(counts.users / n - 0.1)).toBeLessThan(0.02);
    expect(counts.users + counts.legacy).toBe(n);
  });

  it('keeps a sticky key on one upstream, and spreads distinct keys by weight', async () => {
    const counts: Record<string, number> = { users: 0, legacy: 0 };
    const n = 10_000;
    for (let i = 0; i < n; i += 200) {
      const batch = await Promise.all(Array.from({ length: 200 }, (_, j) => get('/shop/orders/1', { 'x-user-id': `user-${i + j}` })));
      for (const r of batch) counts[r.body.upstream]++;
    }
    expect(Math.abs(counts.users / n - 0.1)).toBeLessThan(0.02);
    for (const id of ['user-1', 'user-77', 'user-4242']) {
      const first = (await get('/shop/orders/1', { 'x-user-id': id })).body.upstream;
      for (let k = 0; k < 20; k++) expect((await get('/shop/orders/9', { 'x-user-id': id })).body.upstream).toBe(first);
    }
  });

  it('reads the sticky key from a cookie', async () => {
    const first = (await get('/cookie/a', { cookie: 'theme=dark; session=abc123' })).body.upstream;
    for (let k = 0; k < 20; k++) expect((await get('/cookie/b', { cookie: `session=abc123; other=${k}` })).body.upstream).toBe(first);
  });
});

describe('forwarded headers', () => {
  it('strips hop-by-hop headers, sets X-Forwarded-*, a request id and traceparent', async () => {
    const raw = await rawRequest(`${ficus.url}/api/users/1/x`, {
      headers: {
        connection: 'keep-alive, x-secret-hop',
        'x-secret-hop': 'drop me',
        'keep-alive': 'timeout=5',
        'x-forwarded-for': '6.6.6.6',
        'proxy-authorization': 'Basic Zm9v',
        host: 'shop.test',
      },
    });
    const r = { headers: raw.headers, body: JSON.parse(raw.text) as EchoBody };
    const h = r.body.headers;
    expect(h['x-secret-hop']).toBeUndefined();
    expect(h['keep-alive']).toBeUndefined();
    expect(h['proxy-authorization']).toBeUndefined();
    expect(h['x-forwarded-for']).toBe('127.0.0.1'); // client-supplied value is not trusted by default
    expect(h['x-forwarded-proto']).toBe('http');
    expect(h['x-forwarded-host']).toBe('shop.test');
    expect(h.host).toBe(new URL(users.url).host);
    expect(h.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(h['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    expect(r.headers['x-request-id']).toBe(h['x-request-id']);
  });

  it('continues an incoming trace and echoes an incoming request id', async () => {
    const parent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const r = await get('/api/users/1/x', { traceparent: parent, 'x-request-id': 'req-123' });
    const tp = String(r.body.headers.traceparent);
    expect(tp.startsWith('00-4bf92f3577b34da6a3ce929d0e0e4736-')).toBe(true);
    expect(tp).not.toBe(parent); // ficus's own span is the new parent
    expect(r.body.headers['x-request-id']).toBe('req-123');
    expect(r.headers['x-request-id']).toBe('req-123');
  });
});
