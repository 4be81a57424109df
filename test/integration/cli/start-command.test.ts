import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../../src/util/embedded-postgres.js';
import { startCli } from '../../helpers/cli-process.js';
import { startServer, until } from '../../helpers/http-servers.js';

/** An https server on 127.0.0.1 and port 0, with the test certificate. */
async function startHttpsServer(tls: { cert: Buffer; key: Buffer }, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; close(): Promise<void> }> {
  const server = createHttpsServer(tls, handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** Nice value and scheduling policy (0 normal, 5 SCHED_IDLE) of each of a process's threads, from /proc (Linux). */
function threadPriorities(pid: number): { nice: number; policy: number }[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    // the fields after the parenthesised command start at field 3; nice is field 19, policy 41
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { nice: Number(fields[19 - 3]), policy: Number(fields[41 - 3]) };
  });
}

/**
 * `ficus start` with one route shadowing /api/** from `legacy` to `fresh` (both closed and the
 * process killed after the test), on free ports, with the extra arguments and environment given.
 */
async function startShadowCli(legacy: { url: string; close(): Promise<void> }, fresh: { url: string; close(): Promise<void> }, args: string[], env: NodeJS.ProcessEnv = {}) {
  cleanup.push(() => legacy.close(), () => fresh.close());
  const dir = mkdtempSync(join(tmpdir(), 'ficus-cli-'));
  const rules = join(dir, 'rules.yaml');
  writeFileSync(rules, `version: 1
upstreams: { legacy: { url: ${legacy.url} }, fresh: { url: ${fresh.url} } }
routes:
  - { name: r, match: { path: /api/** }, to: fresh, legacy: legacy, mode: shadow }
default: legacy
`);
  const [port, adminPort] = [await freePort(), await freePort()];
  const cli = startCli(['start', '--rules', rules, '--port', String(port), '--admin-port', String(adminPort), ...args], env);
  cleanup.push(() => void cli.child.kill('SIGKILL'));
  return { cli, port, adminPort };
}

describe('ficus start: shadow thread options', () => {
  it('runs shadow copies on a worker thread with the nice value given, and says so', async () => {
    const seen: string[] = [];
    const legacy = await startServer((_req, res) => res.end('{"ok":true}'));
    const fresh = await startServer((req, res) => {
      seen.push(String(req.headers['x-ficus-shadow']));
      res.end('{"ok":true}');
    });
    const { cli, port } = await startShadowCli(legacy, fresh, ['--shadow-priority', '12', '--shadow-ring-mib', '4']);
    await cli.waitFor(/shadow: +worker thread, nice 12, ring 4 MiB/);
    expect(threadPriorities(cli.child.pid!).map((t) => t.nice)).not.toContain(12);
    const r = await request(`http://127.0.0.1:${port}/api/x`);
    expect(await r.body.text()).toBe('{"ok":true}');
    await until(() => seen.length === 1 || undefined, 5_000, 'the copy reaches the candidate');
    expect(seen).toEqual(['1']);
    // The worker thread took the nice value under the normal policy; the main thread kept nice 0.
    const threads = threadPriorities(cli.child.pid!);
    expect(threads.filter((t) => t.nice === 12)).toEqual([{ nice: 12, policy: 0 }]);
    expect(threads[0]).toEqual({ nice: 0, policy: 0 });
  });

  it('copies to an https candidate from the worker thread and compares, trusting the CAs the process trusts', async () => {
    // Node reads NODE_EXTRA_CA_CERTS once, at start: the proxy (undici) and the shadow worker's
    // TLS client both trust the test certificate only because the child process was given it.
    const tls = { cert: readFileSync(new URL('../../fixtures/tls/cert.pem', import.meta.url)), key: readFileSync(new URL('../../fixtures/tls/key.pem', import.meta.url)) };
    const seen: string[] = [];
    const legacy = await startHttpsServer(tls, (_req, res) => res.end('{"ok":true,"from":"same"}'));
    const fresh = await startHttpsServer(tls, (req, res) => {
      seen.push(`${req.method} ${req.url} ${String(req.headers['x-ficus-shadow'])}`);
      res.end('{"ok":true,"from":"same"}');
    });
    const { cli, port, adminPort } = await startShadowCli(legacy, fresh, [], {
      NODE_EXTRA_CA_CERTS: fileURLToPath(new URL('../../fixtures/tls/cert.pem', import.meta.url)),
    });
    await cli.waitFor(/shadow: +worker thread, SCHED_IDLE, ring 16 MiB/);
    const r = await request(`http://127.0.0.1:${port}/api/tls`);
    expect(await r.body.text()).toBe('{"ok":true,"from":"same"}');
    await until(() => seen.length === 1 || undefined, 5_000, 'the copy reaches the https candidate');
    expect(seen).toEqual(['GET /api/tls 1']);
    const report = await until(async () => {
      const res = await request(`http://127.0.0.1:${adminPort}/shadow/report`);
      const body = (await res.body.json()) as { routes: { route: string; compared: number; matched: number; errors: Record<string, number> }[] };
      return body.routes[0]?.compared === 1 ? body.routes[0] : undefined;
    }, 5_000, 'the comparison is reported');
    expect(report).toMatchObject({ route: 'r', compared: 1, matched: 1, errors: {} });
  });

  it('refuses a priority that is neither idle nor a nice value, and an unknown thread, naming the option', async () => {
    for (const [args, message] of [
      [['--shadow-priority', '20'], 'invalid --shadow-priority "20": expected idle or a nice value from 0 to 19'],
      [['--shadow-priority', 'low'], 'invalid --shadow-priority "low": expected idle or a nice value from 0 to 19'],
      [['--shadow-ring-mib', '0'], 'invalid --shadow-ring-mib "0": expected a whole number of MiB from 1 to 1024'],
      [['--shadow-ring-mib', '1.5'], 'invalid --shadow-ring-mib "1.5": expected a whole number of MiB from 1 to 1024'],
      [['--shadow-thread', 'gpu'], 'invalid --shadow-thread "gpu": expected worker or main'],
    ] as const) {
      const cli = startCli(['start', '--rules', 'rules/example.yaml', '--port', '0', '--admin-port', '0', ...args]);
      cleanup.push(() => void cli.child.kill('SIGKILL'));
      expect(await cli.exited).toBe(1);
      expect(cli.output()).toContain(message);
    }
  });
});
