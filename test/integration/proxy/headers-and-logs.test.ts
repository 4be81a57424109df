import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import type { EchoBody, TestServer } from '../../helpers/http-servers.js';
import { startServer, until } from '../../helpers/http-servers.js';
import type { TestFicus } from '../../helpers/ficus-instance.js';
import { startTestFicus } from '../../helpers/ficus-instance.js';

let upstream: TestServer;
let ficus: TestFicus;

beforeAll(async () => {
  upstream = await startServer((req, res) => {
    const body = JSON.stringify({ upstream: 'svc', method: req.method ?? '', url: req.url ?? '', headers: req.headers, bodyBytes: 0 } satisfies EchoBody);
    res.writeHead(200, { 'content-type': 'application/json', server: 'legacy/1.0', 'x-internal': 'secret', connection: 'keep-alive, x-hop', 'x-hop': 'drop' });
    res.end(body);
  });
  ficus = await startTestFicus(`
version: 1
upstreams:
  svc: { url: ${upstream.url} }
  kept: { url: ${upstream.url}, host: preserve }
routes:
  - name: transformed
    match: { path: /t/** }
    to: svc
    headers:
      request: { set: { x-migrated-by: ficus }, remove: [cookie] }
      response: { set: { cache-control: no-store }, remove: [server, x-internal] }
  - name: preserving
    match: { path: /p/** }
    to: kept
proxy: { trustForwarded: true, forwardedHeaders: both }
default: svc
`);
});

afterAll(async () => {
  await ficus.close();
  await upstream.close();
});

describe('header transforms and host handling', () => {
  it('sets and removes request and response headers per route, and strips hop-by-hop response headers', async () => {
    const r = await request(`${ficus.url}/t/1`, { headers: { cookie: 'sid=1', 'x-keep': 'yes' } });
    const body = (await r.body.json()) as EchoBody;
    expect(body.headers['x-migrated-by']).toBe('ficus');
    expect(body.headers.cookie).toBeUndefined();
    expect(body.headers['x-keep']).toBe('yes');
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.headers.server).toBeUndefined();
    expect(r.headers['x-internal']).toBeUndefined();
    expect(r.headers['x-hop']).toBeUndefined();
  });

  it("preserves the client's Host when the upstream says host: preserve", async () => {
    const r = await request(`${ficus.url}/p/1`, { headers: { host: 'shop.example.com' } });
    expect(((await r.body.json()) as EchoBody).headers.host).toBe('shop.example.com');
  });

  it('appends to trusted X-Forwarded-For and Forwarded chains', async () => {
    const r = await request(`${ficus.url}/x`, { headers: { 'x-forwarded-for': '10.0.0.1', forwarded: 'for=10.0.0.1', 'x-forwarded-proto': 'https', host: 'h.test' } });
    const h = ((await r.body.json()) as EchoBody).headers;
    expect(h['x-forwarded-for']).toBe('10.0.0.1, 127.0.0.1');
    expect(h['x-forwarded-proto']).toBe('https');
    expect(h.forwarded).toBe('for=10.0.0.1, for=127.0.0.1;proto=http;host="h.test"');
  });
});

describe('access log', () => {
  it('writes one JSON line per request in the shared shape', async () => {
    const r = await request(`${ficus.url}/t/logged?q=1`, { headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } });
    await r.body.text();
    const line = await until(() => ficus.logs.find((l) => l.message === 'request' && l.path === '/t/logged?q=1'), 2000, 'access log line');
    expect(line).toMatchObject({
      service: 'ficus',
      level: 'info',
      message: 'request',
      trace_id: '0af7651916cd43dd8448eb211c80319c',
      route: 'transformed',
      upstream: 'svc',
      method: 'GET',
      status: 200,
      outcome: 'ok',
    });
    expect(typeof line.timestamp).toBe('string');
    expect(new Date(String(line.timestamp)).toISOString()).toBe(line.timestamp);
    expect(line.span_id).toMatch(/^[0-9a-f]{16}$/);
    expect(typeof line.duration_ms).toBe('number');
  });
});

describe('admin endpoints', () => {
  it('serves health, readiness, metrics and the rules version', async () => {
    expect((await request(`${ficus.adminUrl}/healthz`)).statusCode).toBe(200);
    expect((await request(`${ficus.adminUrl}/readyz`)).statusCode).toBe(200);
    const rules = (await (await request(`${ficus.adminUrl}/rules`)).body.json()) as { version: string; file: string };
    expect(rules.version).toMatch(/^v1-[0-9a-f]{12}$/);
    expect(rules.file).toBe(ficus.rulesFile);
    const metrics = await (await request(`${ficus.adminUrl}/metrics`)).body.text();
    for (const name of ['ficus_requests_total', 'ficus_upstream_duration_seconds_bucket', 'ficus_requests_in_flight', 'ficus_rules_reloads_total', 'ficus_upstream_errors_total']) {
      expect(metrics).toContain(name);
    }
  });
});
