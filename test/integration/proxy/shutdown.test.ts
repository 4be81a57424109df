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
});
