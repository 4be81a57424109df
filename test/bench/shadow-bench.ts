/**
 * Shadow overhead benchmark (issue 5 goal: client p99 with shadow at 100% of GETs <= 1.1x shadow
 * off). Three processes, loopback only:
 *   backends: a "legacy" and a "new" node:http server answering a ~1 KB JSON user;
 *   proxy:    a minimal forwarder (raw node:http + undici Pool, streaming) that keeps bounded
 *             copies and calls ShadowDispatcher.submit() after the response ends — the same
 *             contract the real forwarder uses;
 *   main:     autocannon, once with shadow off and once with shadow on.
 * Run: npm run bench:shadow (never part of npm test). BENCH_RATE=N req/s (default 1000; 0 = as fast
 * as possible), BENCH_SECONDS=N per run (default 5),
 * BENCH_ROUNDS=N alternating off/on rounds (default 3). Not to be run in a loop on shared machines.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { Pool } from 'undici';
import { BoundedCopy } from '../../src/shadow/bounded-copy.js';
import { headerPairs } from '../../src/shadow/raw-headers.js';
import { MemoryRecorder } from '../../src/shadow/record/memory-recorder.js';
import { ShadowDispatcher } from '../../src/shadow/shadow-dispatcher.js';
import { compileShadowPolicy, endpointKey, shouldShadow } from '../../src/shadow/shadow-policy.js';

// autocannon ships no types; this is the slice used here.
interface CannonResult { requests: { average: number }; latency: { p50: number; p99: number }; errors: number; non2xx: number }
interface CannonRequest { method: string; path?: string; setupRequest?: (req: { path: string }) => { path: string } }
const autocannon = createRequire(import.meta.url)('autocannon') as (o: { url: string; connections: number; duration: number; overallRate?: number; requests: CannonRequest[] }) => Promise<CannonResult>;

const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-connection', 'host']);
const strip = (h: IncomingHttpHeaders) => Object.fromEntries(Object.entries(h).filter(([k, v]) => !HOP.has(k) && v !== undefined)) as Record<string, string | string[]>;

function listen(server: ReturnType<typeof createServer>): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

async function backends(): Promise<void> {
  const user = (id: string) =>
    JSON.stringify({ id: Number(id), name: `user-${id}`, email: `user${id}@example.test`, roles: ['reader', 'writer'], address: { street: '1 Main St', city: 'Springfield', zip: '12345' }, items: Array.from({ length: 8 }, (_, i) => ({ sku: `sku-${i}`, qty: i, price: i * 1.5 })) });
  const make = () => createServer((req, res) => {
    const body = user(req.url?.split('/').pop() ?? '0');
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  process.send?.({ legacy: await listen(make()), next: await listen(make()) });
}

async function proxy(shadowOn: boolean, legacyPort: number, nextPort: number): Promise<void> {
  const legacyOrigin = `http://127.0.0.1:${legacyPort}`;
  const nextOrigin = `http://127.0.0.1:${nextPort}`;
  const pool = new Pool(legacyOrigin, { connections: 64 });
  const policy = compileShadowPolicy({ sample: 1, concurrency: 32 });
  const recorder = new MemoryRecorder();
  const shadow = new ShadowDispatcher({ recorder });
  const endpoint = endpointKey('GET', '/api/users/:id');
  const server = createServer(async (req, res) => {
    const startedAt = Date.now();
    const copying = shadowOn && shouldShadow(req.method ?? 'GET', policy, Math.random) === 'copy';
    try {
      // 1. Forward, streaming the response to the client.
      const up = await pool.request({ path: req.url ?? '/', method: 'GET', headers: strip(req.headers) });
      res.writeHead(up.statusCode, strip(up.headers as IncomingHttpHeaders));
      const copy = copying ? new BoundedCopy(policy.maxBodyBytes) : null;
      for await (const chunk of up.body) {
        copy?.push(chunk as Buffer);
        res.write(chunk);
      }
      res.end();
      // 2. After the response: hand the bounded copies to the shadow engine (never awaited).
      if (copy) {
        shadow.submit({
          route: 'users-read', endpoint, mode: 'shadow', policy, method: 'GET', path: req.url ?? '/', headers: req.headers, requestBody: null,
          primary: { status: up.statusCode, rawHeaders: headerPairs(up.headers), body: copy.result() },
          candidateOrigin: nextOrigin, secondaryOrigin: null, startedAt,
        });
      }
    } catch {
      res.writeHead(502).end();
    }
  });
  process.on('message', async (m) => {
    if (m === 'report') {
      await shadow.idle();
      const [s] = await recorder.snapshot();
      process.send?.({ counters: s?.counters ?? {} });
    }
  });
  process.on('SIGINT', () => process.exit(0)); // lets --cpu-prof write its profile
  process.send?.({ port: await listen(server) });
}

function once<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve) => child.once('message', (m) => resolve(m as T)));
}

/** Open-loop at a fixed rate (below saturation), so both runs serve the same load. */
async function run(port: number, seconds: number, rate: number) {
  const r = await autocannon({ url: `http://127.0.0.1:${port}`, connections: 32, duration: seconds, ...(rate > 0 ? { overallRate: rate } : {}), requests: [{ method: 'GET', setupRequest: (req: { path: string }) => ({ ...req, path: `/api/users/${Math.floor(Math.random() * 1000)}` }) }] });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const back = fork(self, ['backends']);
  const ports = await once<{ legacy: number; next: number }>(back);
  const seconds = Number(process.env.BENCH_SECONDS ?? 5);
  const rate = Number(process.env.BENCH_RATE ?? 1000);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  // Both proxies run side by side and the runs alternate (off, on, off, on...), so drift in the
  // machine's load hits both modes alike; the medians are compared.
  const prof = process.env.BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`] : []; // BENCH_PROF=DIR: CPU profiles
  const proxies = {} as Record<'off' | 'on', { child: ChildProcess; port: number }>;
  for (const mode of ['off', 'on'] as const) {
    const child = fork(self, ['proxy', mode, String(ports.legacy), String(ports.next)], { execArgv: [...process.execArgv, ...prof] });
    proxies[mode] = { child, port: (await once<{ port: number }>(child)).port };
    await run(proxies[mode].port, 2, rate); // warm-up
  }
  const p99: Record<'off' | 'on', number[]> = { off: [], on: [] };
  for (let i = 0; i < rounds; i++) {
    for (const mode of ['off', 'on'] as const) {
      const r = await run(proxies[mode].port, seconds, rate);
      p99[mode].push(r.p99);
      console.log(`round ${i + 1} shadow ${mode}: ${JSON.stringify(r)}`);
    }
  }
  proxies.on.child.send('report');
  const { counters } = await once<{ counters: Record<string, number> }>(proxies.on.child);
  console.log(`shadow counters: ${JSON.stringify(counters)}`);
  for (const { child } of Object.values(proxies)) child.kill('SIGINT');
  back.kill();
  const ratio = median(p99.on) / median(p99.off);
  console.log(`${rate > 0 ? `at ${rate} req/s` : 'closed loop'}: median client p99 off ${median(p99.off)} ms, on ${median(p99.on)} ms, ratio ${ratio.toFixed(2)} (goal <= 1.10)`);
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'backends') void backends();
else if (mode === 'proxy') void proxy(args[0] === 'on', Number(args[1]), Number(args[2]));
else await main();
