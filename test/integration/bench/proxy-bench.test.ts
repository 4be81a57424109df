import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { findOnPath, nginxConfig, startNginx } from '../../bench/nginx-peer.js';
import { pacedLoad, parseHead, responseLength } from '../../bench/paced-load.js';
import type { BenchTarget, StartedTarget } from '../../bench/proxy-bench-harness.js';
import { formatHalfTable, formatMaxTable, interleavedHalfLoad, loadOnce, runProxyBench } from '../../bench/proxy-bench-harness.js';
import { forkPeer } from '../../bench/proxy-bench-ipc.js';
import { pairedSliceRatios, summarize, summarizeRuns } from '../../bench/load-run.js';
import type { RawRun } from '../../bench/load-run.js';
import type { PeerStats } from '../../bench/peer-stats.js';
import { counterDeltas, describeSide, newSideStats } from '../../bench/peer-stats.js';
import { oneKibJson, startHttpProxy, startUpstream } from '../../bench/proxy-bench-peers.js';
import { startCannedUpstream } from '../../bench/canned-upstream.js';
import { candidateSetups } from '../../bench/shadow-same-rate.js';

/** Closers run after each test, newest first. */
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

/** A test upstream that counts TCP connections and request arrival times. */
async function countingUpstream(handler: (req: IncomingMessage, res: ServerResponse, n: number) => void = (_q, res) => res.end('{"ok":true}')) {
  let connections = 0;
  const arrivals: number[] = [];
  const server: Server = createServer((req, res) => {
    arrivals.push(performance.now());
    handler(req, res, arrivals.length);
  });
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cleanups.push(() => new Promise<void>((r) => (server.close(() => r()), server.closeAllConnections())));
  return { url, connections: () => connections, arrivals };
}

async function getSequentially(url: string, times: number): Promise<string[]> {
  const bodies: string[] = [];
  for (let i = 0; i < times; i++) bodies.push(await (await fetch(url)).text());
  return bodies;
}

/**
 * Writes `writes` on one raw connection, a tick apart, and resolves with every byte read once
 * `answers` 1 KiB answers are in, or when the server closes the connection.
 */
function rawExchange(url: string, writes: string[], answers: number): Promise<Buffer> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    const chunks: Buffer[] = [];
    const done = () => {
      socket.destroy();
      resolve(Buffer.concat(chunks));
    };
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      const text = Buffer.concat(chunks).toString('latin1');
      if (answers > 0 && text.split('HTTP/1.1 200').length - 1 === answers && text.endsWith(oneKibJson().toString('latin1'))) done();
    });
    socket.on('close', done);
    socket.on('error', reject);
    socket.on('connect', async () => {
      for (const w of writes) {
        socket.write(w);
        await new Promise((r) => setTimeout(r, 5));
      }
    });
  });
}

describe('bench peers', () => {
  it('the upstream answers every request with exactly 1 KiB of JSON', async () => {
    const up = await startUpstream();
    cleanups.push(() => up.close());
    const res = await fetch(`${up.url}/anything?x=1`);
    const body = Buffer.from(await res.arrayBuffer());
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(body.length).toBe(1024);
    expect(JSON.parse(body.toString())).toMatchObject({ email: 'Ada.Lovelace@Example.com' });
    expect(body.equals(oneKibJson())).toBe(true);
  });

  it('the canned candidate answers a GET with the upstream\'s bytes, Date aside, pipelined heads and split heads too', async () => {
    const up = await startUpstream();
    const canned = await startCannedUpstream(oneKibJson());
    cleanups.push(() => up.close(), () => canned.close());
    const get = 'GET /api/users/42 HTTP/1.1\r\nhost: x\r\nx-ficus-shadow: 1\r\n\r\n';
    const noDate = (b: Buffer) => b.toString('latin1').replace(/\r\nDate: [^\r]+/g, '\r\nDate: -');
    const [fromUpstream, fromCanned] = await Promise.all([rawExchange(up.url, [get], 1), rawExchange(canned.url, [get], 1)]);
    expect(noDate(fromCanned)).toBe(noDate(fromUpstream));
    expect(fromCanned.toString('latin1')).toMatch(/^HTTP\/1\.1 200 OK\r\ncontent-type: application\/json\r\ncontent-length: 1024\r\nDate: \w{3}, /);
    // Three heads in one write, the third split across two writes: three answers, in order.
    const three = await rawExchange(canned.url, [get + get + get.slice(0, 10), get.slice(10)], 3);
    expect(noDate(three)).toBe(noDate(fromUpstream).repeat(3));
  });

  it('the canned candidate closes a connection that sends a request body or a head without end', async () => {
    const canned = await startCannedUpstream(oneKibJson());
    cleanups.push(() => canned.close());
    const post = 'POST /x HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\nhi';
    expect((await rawExchange(canned.url, [post], 0)).length).toBe(0);
    expect((await rawExchange(canned.url, ['GET /x HTTP/1.1\r\nhost: x\r\nx-long: ' + 'a'.repeat(70 * 1024)], 0)).length).toBe(0);
  });

  it('the http-proxy peer forwards the body and reuses one upstream connection for sequential requests', async () => {
    const up = await countingUpstream();
    const proxy = await startHttpProxy(up.url);
    cleanups.push(() => proxy.close());
    expect(await getSequentially(`${proxy.url}/x`, 20)).toEqual(Array(20).fill('{"ok":true}'));
    expect(up.connections()).toBe(1);
  });

  it('the http-proxy peer answers 502 when the upstream is gone', async () => {
    const up = await countingUpstream();
    const proxy = await startHttpProxy(up.url.replace(/:\d+$/, ':1'));
    cleanups.push(() => proxy.close());
    expect((await fetch(proxy.url)).status).toBe(502);
  });
});

describe('nginx peer', () => {
  it('finds commands on PATH and says null for missing ones', () => {
    expect(findOnPath('node')).toMatch(/\/node$/);
    expect(findOnPath('ficus-no-such-command', { PATH: '/nonexistent' })).toBeNull();
  });

  it('writes a config with an upstream keepalive pool on the given ports', () => {
    const conf = nginxConfig({ prefix: '/tmp/p', listenPort: 4321, upstream: '127.0.0.1:1234', keepalive: 16, asRoot: false });
    expect(conf).toContain('listen 127.0.0.1:4321;');
    expect(conf).toMatch(/upstream bench_upstream \{\s+server 127\.0\.0\.1:1234;\s+keepalive 16;/);
    expect(conf).toContain('proxy_http_version 1.1;');
    expect(conf).toContain('proxy_set_header Connection "";');
    expect(conf).not.toContain('user root;');
  });

  // nginx is an optional benchmark peer (`apt-get install nginx`); without it the bench itself skips
  // the nginx target with a note, and this test of the peer has nothing to run.
  it.skipIf(findOnPath('nginx') === null)('proxies to the upstream over one kept-alive connection, and stops on close()', async () => {
    const up = await countingUpstream();
    const nginx = await startNginx(up.url);
    if ('skipped' in nginx) throw new Error(nginx.skipped);
    expect(await getSequentially(`${nginx.url}/x`, 20)).toEqual(Array(20).fill('{"ok":true}'));
    expect(up.connections()).toBe(1);
    await nginx.close();
    await expect(fetch(nginx.url)).rejects.toThrow();
  });
});

describe('forkPeer', () => {
  function script(body: string): URL {
    const dir = mkdtempSync(join(tmpdir(), 'ficus-fork-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'peer.mjs');
    writeFileSync(file, body);
    return pathToFileURL(file);
  }

  it('resolves with the URL the child announces and stops the child on close()', async () => {
    const peer = await forkPeer(script(`process.send({ ready: true, url: 'http://127.0.0.1:9/' + process.argv[2] }); setInterval(() => {}, 1000);`), ['x']);
    expect(peer.url).toBe('http://127.0.0.1:9/x');
    await peer.close();
    expect(() => process.kill(peer.pid, 0)).toThrow();
  });

  it('asks the child for its stats over IPC, and rejects when the child does not answer', async () => {
    const peer = await forkPeer(
      script(`let n = 0; process.on('message', (m) => { if (m.statsRequest) process.send({ stats: { asked: ++n } }); }); process.send({ ready: true, url: 'http://127.0.0.1:9/' }); setInterval(() => {}, 1000);`),
      [],
    );
    cleanups.push(() => peer.close());
    expect(await peer.stats()).toEqual({ asked: 1 });
    expect(await peer.stats()).toEqual({ asked: 2 });
    const mute = await forkPeer(script(`process.send({ ready: true, url: 'http://127.0.0.1:9/' }); setInterval(() => {}, 1000);`), []);
    cleanups.push(() => mute.close());
    await expect(mute.stats(200)).rejects.toThrow(/did not answer a stats request within 200 ms/);
  });

  it('the ficus shadow peer accounts for every GET copied to its own candidate process, with its loop and GC figures', async () => {
    const up = await startUpstream();
    cleanups.push(() => up.close());
    const peer = await forkPeer(new URL('../../../dist/test/bench/ficus-bench-peer.js', import.meta.url), ['shadow', up.url], { readyTimeoutMs: 20_000 });
    cleanups.push(() => peer.close());
    const before = (await peer.stats()) as { ficus: PeerStats; candidate: PeerStats | null };
    expect(before.candidate).not.toBeNull();
    for (let i = 0; i < 20; i++) expect((await fetch(peer.url)).status).toBe(200);
    // The answer waits for the copies in flight, so all 20 are counted: compared, or dropped when
    // this busy test machine made the peer shed load (the bench flags such a run).
    const after = (await peer.stats()) as { ficus: PeerStats; candidate: PeerStats };
    const side = { ...newSideStats(), requests: 20, proxy: [after.ficus], candidate: [after.candidate], countersBefore: before.ficus.counters };
    const counts = counterDeltas(side);
    // Besides the copies, the worker thread's own garbage collections (by kind, with their pauses).
    expect(Object.keys(counts).every((k) => k === 'comparisons match' || k === 'dropped overload' || /^worker_gc(_seconds)? \w+$/.test(k))).toBe(true);
    expect((counts['comparisons match'] ?? 0) + (counts['dropped overload'] ?? 0)).toBe(20);
    expect(after.ficus.cpuMs).toBeGreaterThan(0);
    expect(after.candidate.cpuMs).toBeGreaterThan(0);
    expect(describeSide('shadow on', side)).toMatch(/^ {2}shadow on: proxy CPU \d+ µs\/req \(main thread \d+, helpers at nice 0 \d+\); loop busy ≤ \d+%; loop delay p99 ≤ [\d.]+ ms, max [\d.]+ ms; GC \d+ ms, max pause [\d.]+ ms \(full GCs \d+, max [\d.]+ ms\); candidate CPU \d+ µs\/req; (comparisons match|dropped overload) \d+(, dropped overload \d+)?(; worker GCs \w+ \d+ \(\d+ ms\)(, \w+ \d+ \(\d+ ms\))*)?$/);
  });

  it('runs the candidate of an `idle` shadow peer under SCHED_IDLE, every thread of it, and still compares its copies', async () => {
    const up = await startUpstream();
    cleanups.push(() => up.close());
    const peer = await forkPeer(new URL('../../../dist/test/bench/ficus-bench-peer.js', import.meta.url), ['shadow', up.url, 'idle'], { readyTimeoutMs: 20_000 });
    cleanups.push(() => peer.close());
    // The candidate is the peer's only child process; field 41 of /proc/<pid>/task/<tid>/stat is the policy (5 = SCHED_IDLE).
    const children = readFileSync(`/proc/${peer.pid}/task/${peer.pid}/children`, 'utf8').trim().split(/\s+/);
    expect(children).toHaveLength(1);
    const policies = readdirSync(`/proc/${children[0]}/task`).map((tid) => {
      const stat = readFileSync(`/proc/${children[0]}/task/${tid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[41 - 3]);
    });
    expect(policies.length).toBeGreaterThan(1);
    expect(new Set(policies)).toEqual(new Set([5]));
    const before = (await peer.stats()) as { ficus: PeerStats };
    for (let i = 0; i < 5; i++) expect((await fetch(peer.url)).status).toBe(200);
    const after = (await peer.stats()) as { ficus: PeerStats };
    const counts = counterDeltas({ ...newSideStats(), requests: 5, proxy: [after.ficus], countersBefore: before.ficus.counters });
    expect((counts['comparisons match'] ?? 0) + (counts['dropped overload'] ?? 0)).toBe(5);
  });

  it('a shadow peer with the canned candidate finds every copy a match', async () => {
    const up = await startUpstream();
    cleanups.push(() => up.close());
    const peer = await forkPeer(new URL('../../../dist/test/bench/ficus-bench-peer.js', import.meta.url), ['shadow', up.url, 'shared', 'canned'], { readyTimeoutMs: 20_000 });
    cleanups.push(() => peer.close());
    const before = (await peer.stats()) as { ficus: PeerStats };
    for (let i = 0; i < 10; i++) expect((await fetch(peer.url)).status).toBe(200);
    const after = (await peer.stats()) as { ficus: PeerStats };
    const counts = counterDeltas({ ...newSideStats(), requests: 10, proxy: [after.ficus], countersBefore: before.ficus.counters });
    expect(Object.keys(counts).every((k) => k === 'comparisons match' || k === 'dropped overload' || /^worker_gc(_seconds)? \w+$/.test(k))).toBe(true);
    expect((counts['comparisons match'] ?? 0) + (counts['dropped overload'] ?? 0)).toBe(10);
    expect(counts['comparisons match']).toBeGreaterThan(0);
  });

  it('runs the goal\'s canned SCHED_IDLE candidate first, then node:http ones; the env picks one setup', () => {
    expect(candidateSetups({})).toEqual([
      { server: 'canned', scheduling: 'idle' },
      { server: 'node-http', scheduling: 'idle' },
      { server: 'node-http', scheduling: 'shared' },
    ]);
    expect(candidateSetups({ BENCH_SHADOW_CANDIDATE: 'shared' })).toEqual([{ server: 'canned', scheduling: 'shared' }]);
    expect(candidateSetups({ BENCH_SHADOW_CANDIDATE_SERVER: 'node-http' })).toEqual([{ server: 'node-http', scheduling: 'idle' }]);
    expect(candidateSetups({ BENCH_SHADOW_AA: '1', BENCH_SHADOW_CANDIDATE: 'idle' })).toHaveLength(1);
    expect(() => candidateSetups({ BENCH_SHADOW_CANDIDATE_SERVER: 'nginx' })).toThrow(/BENCH_SHADOW_CANDIDATE_SERVER must be canned or node-http, got "nginx"/);
    expect(() => candidateSetups({ BENCH_SHADOW_CANDIDATE: 'low' })).toThrow(/BENCH_SHADOW_CANDIDATE must be idle or shared, got "low"/);
  });

  it('rejects when the child exits before announcing, or stays silent past the timeout', async () => {
    await expect(forkPeer(script('process.exit(3);'), [])).rejects.toThrow(/exited before it was ready \(code 3/);
    await expect(forkPeer(script('setInterval(() => {}, 1000);'), [], { readyTimeoutMs: 300 })).rejects.toThrow(/did not announce its URL within 300 ms/);
  });
});

describe('load run summary', () => {
  it('takes p50, p90, p99 and p99.9 by nearest rank over all samples', () => {
    const samples = Array.from({ length: 1000 }, (_, i) => 1000 - i);
    const run = summarize(100, samples, 10, 2, 3);
    expect(run).toEqual({ rate: 100, reqPerSec: 100, p50Ms: 500, p90Ms: 900, p99Ms: 990, p999Ms: 999, ok: 1000, errors: 2, non2xx: 3 });
  });
});

describe('paired slice ratios', () => {
  it('takes the median of slice-by-slice p99 ratios, so one stalled slice moves one pair only', () => {
    // 100 samples a slice, the slowest `slow` of them at `p99` ms (the 99th by nearest rank).
    const run = (p99: number, slow = 2): RawRun => ({ rate: 100, samplesMs: [...Array<number>(100 - slow).fill(1), ...Array<number>(slow).fill(p99)], elapsedSec: 1, errors: 0, non2xx: 0 });
    // Target 10% slower in every slice; the direct side's slice 3 stalled (a tenth of it at 40 ms).
    const target = [2.2, 2.2, 2.2, 2.2, 2.2].map((v) => run(v));
    const direct = [run(2), run(2), run(2), run(40, 10), run(2)];
    const paired = pairedSliceRatios(target, direct);
    expect(paired.pairs).toBe(5);
    expect(paired.median).toBeCloseTo(1.1, 10);
    expect(paired.q1).toBeCloseTo(1.1, 10);
    expect(paired.q3).toBeCloseTo(1.1, 10);
    // Pooled, the stall decides: the direct side's p99 is its stalled slice's.
    expect(summarizeRuns(target).p99Ms / summarizeRuns(direct).p99Ms).toBeLessThan(1);
    expect(() => pairedSliceRatios([], [])).toThrow(/no slices to pair/);
  });
});

describe('paced load generator', () => {
  it('reads Content-Length and chunked responses, and waits for incomplete ones', () => {
    const cl = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello');
    const head = parseHead(cl);
    expect(head).toMatchObject({ status: 200, contentLength: 5, close: false });
    expect(responseLength(cl, head!)).toBe(cl.length);
    expect(responseLength(cl.subarray(0, cl.length - 1), head!)).toBe(-1);
    expect(parseHead(Buffer.from('HTTP/1.1 200 OK\r\nContent-Le'))).toBeNull();
    const chunked = Buffer.from('HTTP/1.1 503 Busy\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\nHTTP/1.1');
    const ch = parseHead(chunked)!;
    expect(ch).toMatchObject({ status: 503, contentLength: -1, close: true });
    expect(responseLength(chunked, ch)).toBe(chunked.length - 'HTTP/1.1'.length);
    const empty = Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
    expect(responseLength(empty, parseHead(empty)!)).toBe(empty.length);
  });

  it('spreads requests evenly over the run instead of bursting at the start of each second', async () => {
    const up = await countingUpstream();
    const run = await pacedLoad(`${up.url}/p`, { rate: 400, durationSec: 1, connections: 4 });
    expect(run).toMatchObject({ rate: 400, ok: 400, errors: 0, non2xx: 0 });
    const t0 = up.arrivals[0];
    const slots = new Array(10).fill(0);
    for (const t of up.arrivals) slots[Math.min(9, Math.floor((t - t0) / 100))]++;
    // Evenly paced, each 100 ms slot holds ~40; autocannon's overallRate would put nearly all in the first.
    expect(Math.max(...slots)).toBeLessThan(400 * 0.3);
    expect(up.connections()).toBe(4);
  });

  it('counts time waiting for a free connection in the latency (no coordinated omission)', async () => {
    // One connection, 20 ms per answer: capacity 50/s against 100/s asked, so the queue grows.
    const up = await countingUpstream((_q, res) => void setTimeout(() => res.end('x'), 20));
    const run = await pacedLoad(up.url, { rate: 100, durationSec: 1, connections: 1 });
    expect(run.ok).toBe(100);
    expect(run.p50Ms).toBeGreaterThan(200);
    expect(run.p99Ms).toBeGreaterThan(700);
  });

  it('reconnects when the server closes connections and counts non-2xx answers apart', async () => {
    const up = await countingUpstream((_q, res, n) => {
      if (n % 5 === 0) res.setHeader('connection', 'close');
      res.statusCode = n % 10 === 0 ? 500 : 200;
      res.end('{}');
    });
    const run = await pacedLoad(up.url, { rate: 200, durationSec: 0.5, connections: 2 });
    expect(run).toMatchObject({ ok: 90, non2xx: 10, errors: 0 });
    expect(up.connections()).toBeGreaterThan(2);
  });

  it('refuses a non-positive rate', async () => {
    await expect(pacedLoad('http://127.0.0.1:9', { rate: 0, durationSec: 1, connections: 1 })).rejects.toThrow('pacedLoad: rate, durationSec and connections must be positive, got 0, 1, 1');
  });
});

describe('runProxyBench', () => {
  it('measures direct and each target at max and half load, notes skipped targets and prints the tables', async () => {
    const lines: string[] = [];
    let upstreamUrl = '';
    const inProcessProxy: BenchTarget = { name: 'http-proxy', start: (u) => startHttpProxy(u) };
    const absent: BenchTarget = { name: 'absent', start: async () => ({ skipped: 'not installed here' }) };
    const report = await runProxyBench([inProcessProxy, absent], {
      durationSec: 0.5,
      warmupSec: 0.2,
      connections: 4,
      log: (l) => lines.push(l),
      startUpstream: async (): Promise<StartedTarget> => {
        const up = await startUpstream();
        upstreamUrl = up.url;
        return up;
      },
    });
    expect(report.results.map((r) => r.name)).toEqual(['direct', 'http-proxy', 'absent']);
    const [direct, proxied, absentResult] = report.results;
    for (const r of [direct, proxied]) {
      expect(r.max?.reqPerSec).toBeGreaterThan(0);
      expect(r.max?.errors).toBe(0);
      expect(r.max?.p99Ms).toBeGreaterThanOrEqual(r.max?.p50Ms ?? Infinity);
      expect(r.half?.rate).toBe(Math.max(1, Math.floor((r.max?.reqPerSec ?? 0) / 2)));
      expect(r.half?.target.ok).toBeGreaterThan(0);
    }
    expect(proxied.half?.addedP99Ms).toBeCloseTo((proxied.half?.target.p99Ms ?? 0) - (proxied.half?.direct.p99Ms ?? 0), 6);
    expect(absentResult).toEqual({ name: 'absent', skipped: 'not installed here', max: null, half: null });
    expect(report.maxTable.split('\n').slice(0, 2)).toEqual(['| target | req/s | p50 ms | p99 ms | vs direct |', '| --- | ---: | ---: | ---: | ---: |']);
    expect(report.maxTable).toMatch(/^\| direct \| \d+ \| [\d.]+ \| [\d.]+ \| 1\.00× \|$/m);
    expect(report.maxTable).toContain('| absent | skipped | – | – | – |');
    expect(report.halfTable).toContain('paced req/s (half of its max)');
    expect(lines).toContain(report.maxTable);
    expect(lines.some((l) => l.includes('absent') && l.includes('skipped: not installed here'))).toBe(true);
    // The upstream was closed at the end.
    await expect(fetch(upstreamUrl)).rejects.toThrow();
  });

  it('autocannon overallRate (the alternative half-load generator) spends each second in one burst, which is why paced is the default', async () => {
    const up = await countingUpstream();
    const run = await loadOnce(up.url, { durationSec: 1, connections: 4, rate: 200 });
    expect(run.ok).toBeGreaterThan(0);
    const t0 = up.arrivals[0];
    const first = up.arrivals.filter((t) => t - t0 < 200).length;
    expect(first / up.arrivals.length).toBeGreaterThan(0.6);
    const table = formatHalfTable([{ name: 'direct', skipped: null, max: null, half: { rate: 200, target: run, direct: run, addedP99Ms: 0 } }], 'autocannon');
    expect(table.split('\n')[0]).toBe('| target | autocannon overallRate (half of its max) | p99 ms | direct p99 ms at that rate | added p99 ms |');
    expect(table.split('\n')[2]).toMatch(/^\| direct \| 200 \| [\d.]+ \| [\d.]+ \| 0\.00 \|$/);
  });

  it('interleaves the half-load runs of target and direct in slices ordered ABBA and pools each side', async () => {
    const a = await countingUpstream();
    const b = await countingUpstream();
    const after: string[] = [];
    const { target, direct } = await interleavedHalfLoad(a.url, b.url, { rate: 100, durationSec: 2, connections: 2 }, async (side) => {
      after.push(`${side} ${side === 'target' ? a.arrivals.length : b.arrivals.length}`);
    });
    expect([target.ok, direct.ok]).toEqual([200, 200]);
    // The hook runs after each slice, once that slice's requests were all answered.
    expect(after).toEqual(['target 100', 'direct 100', 'direct 200', 'target 200']);
    expect([target.rate, direct.rate]).toEqual([100, 100]);
    // Slice 1: target then direct; slice 2: direct then target.
    expect(a.arrivals[0]).toBeLessThan(b.arrivals[0]);
    expect(b.arrivals[199]).toBeLessThan(a.arrivals[100]);
    expect(a.arrivals[99]).toBeLessThan(b.arrivals[0]);
  });

  it('formats the ratio to direct for each target', () => {
    const run = (reqPerSec: number) => ({ rate: null, reqPerSec, p50Ms: 0.5, p90Ms: 1, p99Ms: 2, p999Ms: 3, ok: 1, errors: 0, non2xx: 0 });
    const table = formatMaxTable([
      { name: 'direct', skipped: null, max: run(20000), half: null },
      { name: 'nginx', skipped: null, max: run(15000), half: null },
    ]);
    expect(table.split('\n').slice(2)).toEqual(['| direct | 20000 | 0.50 | 2.00 | 1.00× |', '| nginx | 15000 | 0.50 | 2.00 | 0.75× |']);
  });
});
