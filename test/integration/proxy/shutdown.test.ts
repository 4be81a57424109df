import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import type { TestServer } from '../../helpers/http-servers.js';
import { startServer, until } from '../../helpers/http-servers.js';
import { startTestFicus } from '../../helpers/ficus-instance.js';
import { freePort } from '../../../src/util/embedded-postgres.js';
import { startCli } from '../../helpers/cli-process.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** An upstream that holds each request until the test releases it. */
async function heldUpstream(): Promise<{ server: TestServer; arrived: () => number; release: () => void }> {
  let count = 0;
  const held: (() => void)[] = [];
  const server = await startServer((_req, res) => {
    count++;
    held.push(() => res.end('finished'));
  });
  cleanup.push(() => server.close());
  return { server, arrived: () => count, release: () => held.splice(0).forEach((f) => f()) };
}

describe('graceful shutdown', () => {
  it('stops accepting, finishes in-flight requests, then resolves', async () => {
    const up = await heldUpstream();
    const f = await startTestFicus(`version: 1\nupstreams: { svc: { url: ${up.server.url} } }\ndefault: svc\n`);
    const inFlight = request(`${f.url}/slow`).then(async (r) => ({ status: r.statusCode, text: await r.body.text() }));
    await until(() => up.arrived() === 1, 5000, 'request at upstream');
    let closed = false;
    const closing = f.close().then(() => (closed = true));
    await until(async () => (await request(`${f.url}/new`).catch((e: Error & { code?: string }) => e.code)) === 'ECONNREFUSED', 5000, 'listener closed');
    expect(closed).toBe(false);
    up.release();
    expect(await inFlight).toEqual({ status: 200, text: 'finished' });
    await closing;
  });

  it('exits 0 on SIGTERM after draining, as a separate process', async () => {
    const up = await heldUpstream();
    const dir = mkdtempSync(join(tmpdir(), 'ficus-cli-'));
    const rules = join(dir, 'rules.yaml');
    writeFileSync(rules, `version: 1\nupstreams: { svc: { url: ${up.server.url} } }\ndefault: svc\n`);
    const [port, adminPort] = [await freePort(), await freePort()];
    const cli = startCli(['start', '--rules', rules, '--port', String(port), '--admin-port', String(adminPort)]);
    cleanup.push(() => void cli.child.kill('SIGKILL'));
    await cli.waitFor(/proxy: +http:\/\/127\.0\.0\.1:\d+/);
    expect(cli.output()).toContain(rules);
    expect(cli.output()).toMatch(/svc +http:\/\/127\.0\.0\.1:\d+/);
    const health = await request(`http://127.0.0.1:${adminPort}/healthz`);
    expect(health.statusCode).toBe(200);
    await health.body.text();
    const inFlight = request(`http://127.0.0.1:${port}/slow`).then(async (r) => ({ status: r.statusCode, text: await r.body.text() }));
    await until(() => up.arrived() === 1, 5000, 'request at upstream');
    cli.child.kill('SIGTERM');
    await cli.waitFor(/shutting down/);
    up.release();
    expect(await inFlight).toEqual({ status: 200, text: 'finished' });
    expect(await cli.exited).toBe(0);
  });
  it('with FICUS_LOG_BUFFER, writes access lines in blocks within the flush interval and loses none at SIGTERM', async () => {
    const up = await startServer((_req, res) => res.end('ok'));
    cleanup.push(() => up.close());
    const dir = mkdtempSync(join(tmpdir(), 'ficus-cli-'));
    const rules = join(dir, 'rules.yaml');
    writeFileSync(rules, `version: 1\nupstreams: { svc: { url: ${up.url} } }\ndefault: svc\n`);
    const [port, adminPort] = [await freePort(), await freePort()];
    const cli = startCli(['start', '--rules', rules, '--port', String(port), '--admin-port', String(adminPort)], { FICUS_LOG_BUFFER: '65536' });
    cleanup.push(() => void cli.child.kill('SIGKILL'));
    await cli.waitFor(/proxy: +http:\/\/127\.0\.0\.1:\d+/);
    const get = async (path: string) => (await request(`http://127.0.0.1:${port}${path}`)).body.text();
    for (const n of [1, 2, 3]) await get(`/first/${n}`);
    // far from 64 KiB, so only the flush timer writes them
    await cli.waitFor(/"path":"\/first\/3"/, 5000);
    for (const n of [1, 2, 3, 4, 5]) await get(`/last/${n}`);
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    const paths = cli.output().split('\n').filter((l) => l.includes('"message":"request"')).map((l) => (JSON.parse(l) as { path: string }).path);
    expect(paths).toEqual(['/first/1', '/first/2', '/first/3', '/last/1', '/last/2', '/last/3', '/last/4', '/last/5']);
  });

  it('refuses a FICUS_LOG_BUFFER that is not a number of bytes, naming it', async () => {
    const cli = startCli(['start', '--rules', 'rules/example.yaml', '--port', '0', '--admin-port', '0'], { FICUS_LOG_BUFFER: '4k' });
    cleanup.push(() => void cli.child.kill('SIGKILL'));
    expect(await cli.exited).toBe(1);
    expect(cli.output()).toContain('FICUS_LOG_BUFFER: expected a number of bytes from 0 to 1048576, got "4k"');
  });
});
