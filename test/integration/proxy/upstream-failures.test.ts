import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import type { TestServer } from '../../helpers/http-servers.js';
import { rawTarget, startServer, until } from '../../helpers/http-servers.js';
import type { TestFicus } from '../../helpers/ficus-instance.js';
import { startTestFicus } from '../../helpers/ficus-instance.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function ficusFor(upstreamUrl: string, extra = ''): Promise<TestFicus> {
  const f = await startTestFicus(`
version: 1
upstreams:
  svc: { url: ${upstreamUrl}${extra} }
default: svc
`);
  cleanup.push(() => f.close());
  return f;
}

async function track(s: TestServer): Promise<TestServer> {
  cleanup.push(() => s.close());
  return s;
}

describe('upstream failures are answered, logged and counted', () => {
  it('answers 502 FICUS_ERR_UPSTREAM_REFUSED when the upstream refuses the connection', async () => {
    const f = await ficusFor(`http://127.0.0.1:${await closedPort()}`);
    const r = await request(`${f.url}/x`);
    expect(r.statusCode).toBe(502);
    const body = (await r.body.json()) as { error: { code: string; request_id: string } };
    expect(body.error.code).toBe('FICUS_ERR_UPSTREAM_REFUSED');
    expect(body.error.request_id).toBe(r.headers['x-request-id']);
    const warn = f.logs.find((l) => l.message === 'upstream exchange failed');
    expect(warn).toMatchObject({ upstream: 'svc', outcome: 'connect-refused', level: 'warn' });
    const metrics = await (await request(`${f.adminUrl}/metrics`)).body.text();
    expect(metrics).toMatch(/ficus_upstream_errors_total\{upstream="svc",outcome="connect-refused"\} 1/);
    expect(metrics).toMatch(/ficus_requests_total\{route="default",upstream="svc",status_class="5xx"\} 1/);
  });

  it('answers 504 FICUS_ERR_UPSTREAM_TIMEOUT when response headers do not come in time', async () => {
    const hang = await track(await startServer(() => {}));
    const f = await ficusFor(hang.url, ', timeout: 150ms');
    const r = await request(`${f.url}/slow`);
    expect(r.statusCode).toBe(504);
    expect(((await r.body.json()) as { error: { code: string } }).error.code).toBe('FICUS_ERR_UPSTREAM_TIMEOUT');
  });

  it('cuts the response short when the body stalls past bodyTimeout after headers were sent', async () => {
    const stall = await track(
      await startServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('partial');
      }),
    );
    const f = await ficusFor(stall.url, ', bodyTimeout: 150ms');
    const r = await request(`${f.url}/stall`);
    expect(r.statusCode).toBe(200);
    await expect(r.body.text()).rejects.toThrow();
    await until(() => f.logs.some((l) => l.outcome === 'body-timeout'), 2000, 'body-timeout log');
  });

  it('answers 502 FICUS_ERR_UPSTREAM_RESET when the upstream drops the connection', async () => {
    const rude = await track(await startServer((req) => req.socket.destroy()));
    const f = await ficusFor(rude.url);
    const r = await request(`${f.url}/reset`);
    expect(r.statusCode).toBe(502);
    expect(((await r.body.json()) as { error: { code: string } }).error.code).toBe('FICUS_ERR_UPSTREAM_RESET');
  });

  it('cancels the upstream request when the client aborts', async () => {
    let upstreamClosed = false;
    let arrived = false;
    const slow = await track(
      await startServer((req, res) => {
        arrived = true;
        res.on('close', () => (upstreamClosed = true));
        void req;
      }),
    );
    const f = await ficusFor(slow.url);
    const ac = new AbortController();
    const pending = request(`${f.url}/abort`, { signal: ac.signal }).catch((e: Error) => e);
    await until(() => arrived, 2000, 'request to reach upstream');
    ac.abort();
    expect(await pending).toBeInstanceOf(Error);
    await until(() => upstreamClosed, 2000, 'upstream request to be cancelled');
    await until(() => f.logs.some((l) => l.message === 'request' && l.outcome === 'client-aborted' && l.status === 499), 2000, 'access log');
  });

  it('answers 400 for a path it refuses and 404 when nothing matches and there is no default', async () => {
    const up = await track(await startServer((_q, s) => s.end('ok')));
    const f = await startTestFicus(`
version: 1
upstreams: { svc: { url: ${up.url} } }
routes:
  - { name: only, match: { path: /only/** }, to: svc }
`);
    cleanup.push(() => f.close());
    const bad = await rawTarget(f.port, '/only/%2e%2e/%2e%2e/etc');
    expect(bad.status).toBe(400);
    expect((JSON.parse(bad.body) as { error: { code: string } }).error.code).toBe('FICUS_ERR_BAD_REQUEST_PATH');
    const none = await request(`${f.url}/elsewhere`);
    expect(none.statusCode).toBe(404);
    expect(((await none.body.json()) as { error: { code: string } }).error.code).toBe('FICUS_ERR_NO_ROUTE');
  });
});
