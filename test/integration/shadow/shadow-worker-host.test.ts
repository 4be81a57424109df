import { readFileSync, readdirSync } from 'node:fs';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/observability/logger.js';
import { createRegistry } from '../../../src/observability/metrics.js';
import { MemoryRecorder } from '../../../src/shadow/record/memory-recorder.js';
import type { ShadowExchange } from '../../../src/shadow/shadow-dispatcher.js';
import { createShadowMetrics } from '../../../src/shadow/shadow-metrics.js';
import type { ShadowConfig } from '../../../src/shadow/shadow-config.js';
import { compileShadowPolicy } from '../../../src/shadow/shadow-policy.js';
import type { ShadowWorkerHostOptions } from '../../../src/shadow/worker/shadow-worker-host.js';
import { ShadowWorkerHost } from '../../../src/shadow/worker/shadow-worker-host.js';
import { ManualClock } from '../../../src/util/clock.js';
import { until } from '../../helpers/http-servers.js';
import { sendJson, testServers } from '../../helpers/shadow-harness.js';

const ENDPOINT = 'GET /api/users/:id';
const EXITED = 'shadow worker exited; the copies it had not finished are counted as dropped (worker-failed), a new worker starts with the next copy';
const { cleanup, server } = testServers();

function host(options: Partial<ShadowWorkerHostOptions> = {}) {
  const recorder = new MemoryRecorder();
  const registry = createRegistry();
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        raw.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      cb();
    },
  });
  const shadow = new ShadowWorkerHost({
    recorder,
    metrics: createShadowMetrics(registry),
    logger: createLogger({ level: 'debug', destination: sink }),
    // A fixed load reading: tests never shed by accident on a busy machine.
    loadProbe: { utilization: () => 0, close: () => {} },
    ...options,
  });
  cleanup.push(() => shadow.close());
  return { recorder, registry, shadow, lines, raw };
}

/** The exchange the forwarder would hand over after the primary answered `primary` for user `id`. */
function exchange(config: ShadowConfig, candidateOrigin: string, id: number, primary: unknown, over: Partial<ShadowExchange> = {}): ShadowExchange {
  return {
    route: 'users-read',
    endpoint: ENDPOINT,
    mode: 'shadow',
    policy: compileShadowPolicy(config),
    method: 'GET',
    path: `/api/users/${id}`,
    headers: { host: 'ficus.test', authorization: 'Bearer s3cr3t-t0ken' },
    requestBody: null,
    primary: { status: 200, rawHeaders: ['Content-Type', 'application/json'], body: Buffer.from(JSON.stringify(primary)) },
    candidateOrigin,
    secondaryOrigin: null,
    startedAt: Date.now(),
    ...over,
  };
}

const user = (id: number) => ({ id, name: `user-${id}`, email: `u${id}@example.com` });
const idOf = (url: string) => Number(url.split('/').pop());

/** SCHED_IDLE's number in /proc/<pid>/task/<tid>/stat (field 41, `policy`); the normal policy is 0. */
const SCHED_IDLE = 5;

/** Threads of this process as `{ tid, nice, policy }`, from /proc (Linux). */
function threadPriorities(): { tid: number; nice: number; policy: number }[] {
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    // the fields after the parenthesised command start at field 3
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { tid: Number(tid), nice: Number(fields[19 - 3]), policy: Number(fields[41 - 3]) };
  });
}

describe('shadow worker host', () => {
  it('compares copies in a worker thread under SCHED_IDLE and records every one on the main thread', async () => {
    const next = await server((req, res) => sendJson(res, 200, user(idOf(req.url))));
    const { shadow, recorder, registry } = host();
    const config: ShadowConfig = {};
    for (let i = 1; i <= 30; i++) expect(shadow.submit(exchange(config, next.origin, i, user(i)))).toBe('accepted');
    await shadow.idle();
    const [snap] = await recorder.snapshot();
    expect(snap.counters).toMatchObject({ compared: 30, matched: 30 });
    expect(next.seen).toHaveLength(30);
    expect(next.seen[0].headers['x-ficus-shadow']).toBe('1');
    expect(next.seen[0].headers.authorization).toBeUndefined();
    const metric = await registry.getSingleMetric('ficus_shadow_comparisons_total')!.get();
    expect(metric.values).toEqual([expect.objectContaining({ labels: { route: 'users-read', result: 'match' }, value: 30 })]);
    // The worker lowered its own priority, not the process's: the main thread keeps the normal
    // policy at nice 0. The worker is at nice 19 too, where it stays if chrt cannot set SCHED_IDLE.
    const threads = threadPriorities();
    expect(threads.find((t) => t.tid === process.pid)).toMatchObject({ nice: 0, policy: 0 });
    expect(threads.filter((t) => t.policy === SCHED_IDLE)).toEqual([expect.objectContaining({ nice: 19 })]);
  });

  it("counts the worker thread's own garbage collections and their pauses, by kind", async () => {
    const body = { items: Array.from({ length: 40 }, (_, i) => user(i)) };
    const next = await server((req, res) => sendJson(res, 200, body));
    const { shadow, registry } = host();
    // Some 600 copies of a 3 KiB answer: megabytes of garbage on the worker's heap, so it scavenges.
    for (let i = 1; i <= 600; i++) expect(shadow.submit(exchange({}, next.origin, i, body))).toBe('accepted');
    await shadow.idle();
    const value = async (name: string, kind: string) => (await registry.getSingleMetric(name)!.get()).values.find((v) => v.labels.kind === kind)?.value ?? 0;
    await until(async () => (await value('ficus_shadow_worker_gc_total', 'minor')) >= 1, 5_000, 'a minor GC counted from the worker');
    expect(await value('ficus_shadow_worker_gc_seconds_total', 'minor')).toBeGreaterThan(0);
  });

  it('starts no thread until the first copy, and idles and closes without one', async () => {
    const threads = () => readdirSync('/proc/self/task').length;
    const before = threads();
    const { shadow } = host();
    await shadow.idle();
    expect(threads()).toBe(before);
    await shadow.close();
    expect(threads()).toBe(before);
  });

  it('stores a redacted mismatch sample and follows a reloaded policy', async () => {
    const next = await server((req, res) => sendJson(res, 200, { ...user(idOf(req.url)), name: 'renamed' }));
    const { shadow, recorder } = host();
    shadow.submit(exchange({}, next.origin, 1, user(1)));
    // A reload compiles a new policy for the route: the worker must use it from the next copy on.
    shadow.submit(exchange({ compare: { ignore: ['$.name'] } }, next.origin, 2, user(2)));
    await shadow.idle();
    const [snap] = await recorder.snapshot();
    expect(snap.counters).toMatchObject({ compared: 2, matched: 1 });
    expect(Object.keys(snap.fields)).toEqual(['$.name']);
    const [sample] = await recorder.samples('users-read', ENDPOINT);
    expect(sample.request.headers.authorization).not.toContain('s3cr3t');
    expect(JSON.stringify(sample)).not.toContain('s3cr3t-t0ken');
    expect(sample.diffs).toEqual([expect.objectContaining({ path: '$.name' })]);
  });

  it('drops and counts a copy that cannot fit in the ring, and still sends the next', async () => {
    const next = await server((req, res) => sendJson(res, 200, user(idOf(req.url))));
    const { shadow, recorder, registry } = host({ ringBytes: 64 * 1024 });
    const huge = exchange({}, next.origin, 1, { blob: 'x'.repeat(80 * 1024) });
    expect(shadow.submit(huge)).toBe('dropped');
    expect(shadow.submit(exchange({}, next.origin, 2, user(2)))).toBe('accepted');
    await shadow.idle();
    const [snap] = await recorder.snapshot();
    expect(snap.counters).toMatchObject({ compared: 1, matched: 1, 'dropped:queue-full': 1 });
    const dropped = await registry.getSingleMetric('ficus_shadow_dropped_total')!.get();
    expect(dropped.values).toEqual([expect.objectContaining({ labels: { route: 'users-read', reason: 'queue-full' }, value: 1 })]);
  });

  it('records bodies too large to copy as skipped, without sending them', async () => {
    const next = await server((req, res) => sendJson(res, 200, user(idOf(req.url))));
    const { shadow, recorder } = host();
    const ex = exchange({}, next.origin, 1, user(1));
    expect(shadow.submit({ ...ex, primary: { ...ex.primary, body: 'too-large' } })).toBe('skipped-too-large');
    await shadow.idle();
    const [snap] = await recorder.snapshot();
    expect(snap.counters).toMatchObject({ 'skipped:too-large': 1 });
    expect(next.seen).toHaveLength(0);
  });

  it('sheds copies by the main thread\'s load, before they reach the worker', async () => {
    const next = await server((req, res) => sendJson(res, 200, user(idOf(req.url))));
    const { shadow, recorder } = host({ loadProbe: { utilization: () => 0.99, close: () => {} } });
    expect(shadow.submit(exchange({}, next.origin, 1, user(1)))).toBe('dropped');
    await shadow.idle();
    const [snap] = await recorder.snapshot();
    expect(snap.counters).toMatchObject({ 'dropped:overload': 1 });
    expect(next.seen).toHaveLength(0);
  });

  it('logs what the worker logs through the host\'s logger', async () => {
    const down = await server(() => {});
    await down.close();
    const { shadow, recorder, lines, raw } = host();
    shadow.submit(exchange({}, down.origin, 1, user(1)));
    await shadow.idle();
    const [snap] = await recorder.snapshot();
    expect(snap.counters).toMatchObject({ 'error:refused': 1 });
    const line = lines.find((l) => l.message === 'shadow candidate failed');
    expect(line).toMatchObject({ level: 'debug', component: 'shadow', route: 'users-read', reason: 'refused', service: 'ficus' });
    // Written once by the host's logger: no field of the worker's own line repeated.
    const text = raw.find((l) => l.includes('shadow candidate failed'))!;
    for (const field of ['"timestamp"', '"service"', '"component"', '"level"', '"message"']) expect(text.split(field)).toHaveLength(2);
  });

  it('closes with a copy hanging on the candidate, and refuses copies after close', async () => {
    const hanging = await server(() => {});
    const { shadow, recorder } = host();
    shadow.submit(exchange({ timeout: '60s' }, hanging.origin, 1, user(1)));
    await until(() => hanging.seen.length === 1 || undefined, 5_000, 'the copy reaches the hanging candidate');
    await shadow.close();
    const [snap] = await recorder.snapshot();
    expect(snap.counters).toMatchObject({ 'error:timeout': 1 });
    expect(shadow.submit(exchange({}, hanging.origin, 2, user(2)))).toBe('dropped');
  });

  it('reports a worker that fails, and starts a new one for later copies, at most once a second', async () => {
    const next = await server((req, res) => sendJson(res, 200, user(idOf(req.url))));
    const clock = new ManualClock(1_000);
    const failing = new URL('../../fixtures/shadow-worker/fails-at-start.mjs', import.meta.url);
    const { shadow, lines, recorder, registry } = host({ clock, entry: failing });
    shadow.submit(exchange({}, next.origin, 1, user(1)));
    await until(() => lines.find((l) => l.message === EXITED), 5_000, 'the exit is logged');
    expect(lines.find((l) => l.message === EXITED)).toMatchObject({ level: 'error', lost: 1 });
    // The copy the worker never read is not lost silently.
    expect((await recorder.snapshot())[0].counters).toMatchObject({ 'dropped:worker-failed': 1 });
    expect(lines.find((l) => l.message === 'shadow worker failed')).toMatchObject({ level: 'error', err: expect.objectContaining({ message: 'this worker fails at start' }) });
    // idle() never hangs on a dead worker.
    await shadow.idle();
    const starts = () => lines.filter((l) => l.message === 'shadow worker failed').length;
    clock.advance(500);
    shadow.submit(exchange({}, next.origin, 2, user(2)));
    await shadow.idle();
    expect(starts()).toBe(1);
    clock.advance(600);
    shadow.submit(exchange({}, next.origin, 3, user(3)));
    await until(() => starts() === 2 || undefined, 5_000, 'a second worker starts and fails');
    // Copy 2 waited in the ring for the second worker, copy 3 went with it: both are counted.
    await until(() => lines.filter((l) => l.message === EXITED).length === 2 || undefined, 5_000, 'the second exit is logged');
    expect((await recorder.snapshot())[0].counters).toMatchObject({ 'dropped:worker-failed': 3 });
    const metric = await registry.getSingleMetric('ficus_shadow_dropped_total')!.get();
    expect(metric.values).toEqual([expect.objectContaining({ labels: { route: 'users-read', reason: 'worker-failed' }, value: 3 })]);
    expect(next.seen).toHaveLength(0);
  });

  it('counts the copies a dying worker held as dropped, and compares later copies in a new one', async () => {
    const next = await server((req, res) => {
      // Copies 1 and 2 wait on the candidate while the worker dies; later ones are answered.
      if (idOf(req.url) > 2) sendJson(res, 200, user(idOf(req.url)));
    });
    const clock = new ManualClock(1_000);
    const { shadow, recorder, lines } = host({ clock });
    shadow.submit(exchange({ timeout: '60s' }, next.origin, 1, user(1)));
    shadow.submit(exchange({ timeout: '60s' }, next.origin, 2, user(2)));
    await until(() => next.seen.length === 2 || undefined, 5_000, 'both copies reach the candidate');
    // The worker is private to the host; ending it from here stands for a crash in the thread.
    await (shadow as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    await until(() => lines.find((l) => l.message === EXITED), 5_000, 'the exit is logged');
    expect(lines.find((l) => l.message === EXITED)).toMatchObject({ lost: 2 });
    expect((await recorder.snapshot())[0].counters).toMatchObject({ 'dropped:worker-failed': 2 });
    clock.advance(1_001);
    shadow.submit(exchange({}, next.origin, 3, user(3)));
    await shadow.idle();
    const [snap] = await recorder.snapshot();
    expect(snap.counters).toMatchObject({ compared: 1, matched: 1, 'dropped:worker-failed': 2 });
  });
});
