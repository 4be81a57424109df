import { describe, expect, it } from 'vitest';
import { createRegistry } from '../../../src/observability/metrics.js';
import { MemoryRecorder } from '../../../src/shadow/record/memory-recorder.js';
import { buildShadowReport } from '../../../src/shadow/report/build-report.js';
import type { ShadowExchange } from '../../../src/shadow/shadow-dispatcher.js';
import { ShadowDispatcher } from '../../../src/shadow/shadow-dispatcher.js';
import { createShadowMetrics } from '../../../src/shadow/shadow-metrics.js';
import type { ShadowConfig } from '../../../src/shadow/shadow-config.js';
import type { ShadowPolicy } from '../../../src/shadow/shadow-policy.js';
import { compileShadowPolicy, shouldShadow } from '../../../src/shadow/shadow-policy.js';
import type { TestServer } from '../../helpers/shadow-harness.js';
import { callAndShadow, sendJson, startServer, testServers } from '../../helpers/shadow-harness.js';

const ENDPOINT = 'GET /api/users/:id';
const user = (id: number) => ({ id, name: `user-${id}`, price: 10 * id, items: [{ sku: 'a', qty: 1 }, { sku: 'b', qty: 2 }, { sku: 'c', qty: 3 }] });

const { cleanup, server } = testServers();

function engine(options: { random?: () => number; load?: number } = {}) {
  const recorder = new MemoryRecorder();
  const registry = createRegistry();
  // A fixed load reading: tests never shed by accident on a busy machine.
  const loadProbe = { utilization: () => options.load ?? 0, close: () => {} };
  const shadow = new ShadowDispatcher({ recorder, metrics: createShadowMetrics(registry), random: options.random ?? (() => 0), loadProbe });
  cleanup.push(() => shadow.close());
  return { recorder, registry, shadow };
}

const idOf = (url: string) => Number(url.split('/').pop()?.split('?')[0]);

/** An exchange submitted directly (no primary call): the primary answered `{"ok":true}`. */
function exchangeWithOkPrimary(policy: ShadowPolicy, endpoint: string, path: string, candidateOrigin: string): ShadowExchange {
  return { route: 'r', endpoint, mode: 'shadow', policy, method: 'GET', path, headers: {}, requestBody: null,
    primary: { status: 200, rawHeaders: ['Content-Type', 'application/json'], body: Buffer.from('{"ok":true}') }, candidateOrigin, secondaryOrigin: null, startedAt: 0 };
}

async function runUsers(shadow: ShadowDispatcher, legacy: TestServer, next: TestServer, config: ShadowConfig, n: number, extra: { secondary?: TestServer; mode?: 'shadow' | 'live' } = {}) {
  const policy = compileShadowPolicy(config);
  for (let i = 1; i <= n; i++) {
    const live = extra.mode === 'live';
    const r = await callAndShadow(shadow, {
      route: 'users-read', endpoint: ENDPOINT, policy, path: `/api/users/${i}`, mode: extra.mode ?? 'shadow',
      primaryOrigin: live ? next.origin : legacy.origin,
      candidateOrigin: live ? legacy.origin : next.origin,
      secondaryOrigin: extra.secondary?.origin ?? null,
    });
    expect(r.submitted).toBe('accepted');
  }
  await shadow.idle();
}

describe('ShadowDispatcher with real servers', () => {
  it('reports 100% match for an identical candidate, grouping /api/users/1..N into one endpoint', async () => {
    const legacy = await server((req, res) => sendJson(res, 200, user(idOf(req.url))));
    const next = await server((req, res) => sendJson(res, 200, user(idOf(req.url))));
    const { recorder, registry, shadow } = engine();
    await runUsers(shadow, legacy, next, {}, 20);
    const report = await buildShadowReport(recorder);
    expect(report.routes).toHaveLength(1);
    const [ep] = report.routes[0].endpoints;
    expect(ep).toMatchObject({ endpoint: ENDPOINT, compared: 20, matched: 20, matchRate: 1, noiseAdjustedMatchRate: 1, topFields: [], dropped: 0 });
    expect(next.seen).toHaveLength(20);
    expect(next.seen.every((r) => r.headers['x-ficus-shadow'] === '1')).toBe(true);
    expect(await registry.metrics()).toContain('ficus_shadow_comparisons_total{route="users-read",result="match"} 20');
  });

  it('puts the one field the candidate gets wrong at the top of the report, with an example', async () => {
    const legacy = await server((req, res) => sendJson(res, 200, user(idOf(req.url))));
    const next = await server((req, res) => {
      const id = idOf(req.url);
      // Every request has a wrong price; every fourth also a different name.
      sendJson(res, 200, { ...user(id), price: 10 * id + 1, name: id % 4 === 0 ? 'X' : `user-${id}` });
    });
    const { recorder, shadow } = engine();
    await runUsers(shadow, legacy, next, {}, 12);
    const [ep] = (await buildShadowReport(recorder)).routes[0].endpoints;
    expect(ep.compared).toBe(12);
    expect(ep.matchRate).toBe(0);
    expect(ep.topFields.map((f) => [f.field, f.count, f.noise])).toEqual([['$.price', 12, false], ['$.name', 3, false]]);
    expect(ep.topFields[0].example).toEqual({ path: '$.price', field: '$.price', kind: 'changed', primary: 10, candidate: 11 });
    expect(ep.samplesStored).toBe(12);
    const [latest] = await recorder.samples('users-read', ENDPOINT, 1);
    expect(latest.request).toMatchObject({ method: 'GET', path: '/api/users/12' });
    expect(latest.diffs.map((d) => d.path)).toEqual(['$.name', '$.price']);
  });

  it('learns timestamps and request ids as noise from a legacy secondary, and keeps real differences', async () => {
    let seq = 0;
    // Legacy is non-deterministic: a fresh timestamp and request id on every call.
    const legacyBody = (id: number) => ({ ...user(id), updated_at: new Date(1_700_000_000_000 + ++seq * 1000).toISOString(), request_id: `req-${seq}` });
    const legacy = await server((req, res) => sendJson(res, 200, legacyBody(idOf(req.url))));
    const next = await server((req, res) => {
      const id = idOf(req.url);
      const body = legacyBody(id);
      sendJson(res, 200, id % 5 === 0 ? { ...body, price: -1 } : body);
    });
    const { recorder, registry, shadow } = engine();
    await runUsers(shadow, legacy, next, { noise: { secondary: 'legacy', sample: 1 } }, 20, { secondary: legacy });
    const [ep] = (await buildShadowReport(recorder)).routes[0].endpoints;
    expect(ep.secondaryCompared).toBe(20);
    expect(ep.matchRate).toBe(0);
    // 16 of 20 differ only in noise; 4 also have a wrong price.
    expect(ep.noiseAdjustedMatchRate).toBe(16 / 20);
    const byField = Object.fromEntries(ep.topFields.map((f) => [f.field, f]));
    expect(byField['$.updated_at'].noise).toBe(true);
    expect(byField['$.request_id'].noise).toBe(true);
    expect(byField['$.price']).toMatchObject({ noise: false, count: 4, secondaryCount: 0 });
    // Real differences are listed before noise.
    expect(ep.topFields[0].field).toBe('$.price');
    // Once learned, noise-only comparisons are labelled so in metrics.
    expect(await registry.metrics()).toMatch(/ficus_shadow_comparisons_total\{route="users-read",result="noise-only"\} [1-9]/);
  });

  it('compares unordered arrays as multisets only where configured', async () => {
    const legacy = await server((req, res) => sendJson(res, 200, user(idOf(req.url))));
    const next = await server((req, res) => {
      const u = user(idOf(req.url));
      sendJson(res, 200, { ...u, items: [...u.items].reverse() });
    });
    const ordered = engine();
    await runUsers(ordered.shadow, legacy, next, {}, 3);
    expect((await buildShadowReport(ordered.recorder)).routes[0].endpoints[0].matchRate).toBe(0);
    const unordered = engine();
    await runUsers(unordered.shadow, legacy, next, { compare: { unorderedArrays: [{ path: '$.items', key: 'sku' }] } }, 3);
    expect((await buildShadowReport(unordered.recorder)).routes[0].endpoints[0].matchRate).toBe(1);
  });

  it('copies writes only when allowed, with the body, the shadow mark and no credentials unless configured', async () => {
    const legacy = await server((req, res) => sendJson(res, 201, { ok: true, echo: JSON.parse(req.body) }));
    const next = await server((req, res) => sendJson(res, 201, { ok: true, echo: JSON.parse(req.body) }));
    const { recorder, shadow } = engine();
    const call = (config: ShadowConfig) => {
      const policy = compileShadowPolicy(config);
      if (shouldShadow('POST', policy, () => 0) !== 'copy') return Promise.resolve(null);
      return callAndShadow(shadow, {
        route: 'users-write', endpoint: 'POST /api/users', policy, method: 'POST', path: '/api/users',
        headers: { 'content-type': 'application/json', authorization: 'Bearer t0k3n', cookie: 'sid=abc123', connection: 'keep-alive, x-hop', 'x-hop': '1' },
        body: JSON.stringify({ name: 'ann' }), primaryOrigin: legacy.origin, candidateOrigin: next.origin,
      });
    };
    expect(await call({})).toBeNull();
    await shadow.idle();
    expect(next.seen).toHaveLength(0);

    expect((await call({ writes: true }))?.submitted).toBe('accepted');
    await shadow.idle();
    expect(next.seen).toHaveLength(1);
    const copied = next.seen[0];
    expect(copied).toMatchObject({ method: 'POST', url: '/api/users', body: '{"name":"ann"}' });
    expect(copied.headers['x-ficus-shadow']).toBe('1');
    expect(copied.headers.authorization).toBeUndefined();
    expect(copied.headers.cookie).toBeUndefined();
    expect(copied.headers['x-hop']).toBeUndefined();

    await call({ writes: true, forward: { cookies: true, authorization: true } });
    await shadow.idle();
    expect(next.seen[1].headers).toMatchObject({ authorization: 'Bearer t0k3n', cookie: 'sid=abc123' });
    expect((await buildShadowReport(recorder)).routes[0].endpoints[0]).toMatchObject({ compared: 2, matched: 2 });
  });

  it('never delays the client for a hanging candidate, and records the timeout', async () => {
    let candidateGotCopy!: () => void;
    const gotCopy = new Promise<void>((r) => (candidateGotCopy = r));
    const legacy = await server((req, res) => sendJson(res, 200, user(idOf(req.url))));
    const hanging = await server(() => candidateGotCopy()); // never answers
    const { recorder, registry, shadow } = engine();
    const policy = compileShadowPolicy({ timeout: '300ms' });
    const order: string[] = [];
    const client = callAndShadow(shadow, { route: 'users-read', endpoint: ENDPOINT, policy, path: '/api/users/1', primaryOrigin: legacy.origin, candidateOrigin: hanging.origin })
      .then((r) => { order.push('client answered'); return r; });
    const r = await client;
    expect(r).toMatchObject({ status: 200, submitted: 'accepted' });
    await gotCopy;
    order.push('candidate holding the copy');
    // The client had its answer while the candidate still held the copy unanswered.
    await shadow.idle();
    order.push('timeout recorded');
    expect(order).toEqual(['client answered', 'candidate holding the copy', 'timeout recorded']);
    const [ep] = (await buildShadowReport(recorder)).routes[0].endpoints;
    expect(ep).toMatchObject({ compared: 0, errors: { timeout: 1 }, matchRate: null });
    expect(await registry.metrics()).toContain('ficus_shadow_comparisons_total{route="users-read",result="error"} 1');
  });

  it('records a candidate that is down as refused and one answering 500 as a status mismatch', async () => {
    const legacy = await server((req, res) => sendJson(res, 200, user(idOf(req.url))));
    const down = await startServer(() => {});
    const downOrigin = down.origin;
    await down.close();
    const failing = await server((_req, res) => sendJson(res, 500, { error: 'boom' }));
    const { recorder, shadow } = engine();
    const policy = compileShadowPolicy({});
    const r1 = await callAndShadow(shadow, { route: 'down', endpoint: ENDPOINT, policy, path: '/api/users/1', primaryOrigin: legacy.origin, candidateOrigin: downOrigin });
    const r2 = await callAndShadow(shadow, { route: 'failing', endpoint: ENDPOINT, policy, path: '/api/users/1', primaryOrigin: legacy.origin, candidateOrigin: failing.origin });
    expect([r1.status, r2.status]).toEqual([200, 200]);
    await shadow.idle();
    const report = await buildShadowReport(recorder);
    const byRoute = Object.fromEntries(report.routes.map((r) => [r.route, r.endpoints[0]]));
    expect(byRoute.down).toMatchObject({ compared: 0, errors: { refused: 1 } });
    expect(byRoute.failing).toMatchObject({ compared: 1, matched: 0 });
    expect(byRoute.failing.topFields[0]).toMatchObject({ field: 'status', example: { primary: 200, candidate: 500 } });
  });

  it('records a candidate that dies mid-answer as reset', async () => {
    const legacy = await server((req, res) => sendJson(res, 200, user(idOf(req.url))));
    const dying = await server((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"id":');
      res.socket?.destroy();
    });
    const { recorder, shadow } = engine();
    const r = await callAndShadow(shadow, { route: 'dying', endpoint: ENDPOINT, policy: compileShadowPolicy({}), path: '/api/users/1', primaryOrigin: legacy.origin, candidateOrigin: dying.origin });
    expect(r.status).toBe(200);
    await shadow.idle();
    expect((await buildShadowReport(recorder)).routes[0].endpoints[0]).toMatchObject({ compared: 0, errors: { reset: 1 } });
  });

  it('skips oversized bodies, from the primary copy and from the candidate', async () => {
    const big = { blob: 'x'.repeat(5000) };
    const legacy = await server((req, res) => sendJson(res, 200, req.url.endsWith('/big') ? big : { ok: 1 }));
    const next = await server((_req, res) => sendJson(res, 200, big));
    const { recorder, registry, shadow } = engine();
    const policy = compileShadowPolicy({ maxBodyBytes: '1kb' });
    const a = await callAndShadow(shadow, { route: 'r', endpoint: 'GET /big', policy, path: '/big', primaryOrigin: legacy.origin, candidateOrigin: next.origin });
    expect(a.submitted).toBe('skipped-too-large');
    expect(a.body.length).toBeGreaterThan(5000); // the client still got the whole body
    const b = await callAndShadow(shadow, { route: 'r', endpoint: 'GET /small', policy, path: '/small', primaryOrigin: legacy.origin, candidateOrigin: next.origin });
    expect(b.submitted).toBe('accepted');
    await shadow.idle();
    const report = await buildShadowReport(recorder);
    expect(report.routes[0].skipped).toEqual({ 'too-large': 2 });
    expect(next.seen.map((r) => r.url)).toEqual(['/small']);
    expect(await registry.metrics()).toContain('ficus_shadow_comparisons_total{route="r",result="skipped"} 2');
  });

  it('reads a candidate body that streams in pieces, and skips one that grows past the limit without a length', async () => {
    const legacy = await server((req, res) => sendJson(res, 200, req.url === '/big' ? { blob: 'x'.repeat(3000) } : user(1)));
    // Chunked answers (no content-length), written in several pieces with pauses between them.
    const next = await server((req, res) => {
      const text = JSON.stringify(req.url === '/big' ? { blob: 'x'.repeat(3000) } : user(1));
      res.writeHead(200, { 'content-type': 'application/json' });
      const pieces = [text.slice(0, 10), text.slice(10, 1500), text.slice(1500)];
      const write = () => (pieces.length > 1 ? (res.write(pieces.shift()), setTimeout(write, 5)) : res.end(pieces.shift()));
      write();
    });
    const { recorder, registry, shadow } = engine();
    const policy = compileShadowPolicy({ maxBodyBytes: '2kb' });
    const small = await callAndShadow(shadow, { route: 'r', endpoint: 'GET /small', policy, path: '/small', primaryOrigin: legacy.origin, candidateOrigin: next.origin });
    expect(small.submitted).toBe('accepted');
    await shadow.idle();
    // The primary copy of /big is already too large; submit the exchange with a small primary so
    // only the candidate's answer can be too large.
    expect(shadow.submit(exchangeWithOkPrimary(policy, 'GET /big', '/big', next.origin))).toBe('accepted');
    await shadow.idle();
    // The candidate's connection was dropped mid-answer; later copies still go through.
    expect((await callAndShadow(shadow, { route: 'r', endpoint: 'GET /small', policy, path: '/small', primaryOrigin: legacy.origin, candidateOrigin: next.origin })).submitted).toBe('accepted');
    await shadow.idle();
    const byEndpoint = Object.fromEntries((await buildShadowReport(recorder)).routes[0].endpoints.map((e) => [e.endpoint, e]));
    expect(byEndpoint['GET /small']).toMatchObject({ compared: 2, matched: 2 });
    expect(byEndpoint['GET /big']).toMatchObject({ compared: 0, skipped: { 'too-large': 1 } });
    expect(await registry.metrics()).toContain('ficus_shadow_comparisons_total{route="r",result="skipped"} 1');
  });

  it('aborts copies in flight on close and records them as timeouts, without waiting for their deadline', async () => {
    let gotCopies!: () => void;
    const arrived = new Promise<void>((r) => (gotCopies = r));
    let seen = 0;
    const legacy = await server((req, res) => sendJson(res, 200, user(idOf(req.url))));
    const hanging = await server(() => {
      if (++seen === 3) gotCopies();
    }); // never answers
    const recorder = new MemoryRecorder();
    const shadow = new ShadowDispatcher({ recorder, loadProbe: { utilization: () => 0, close: () => {} } });
    const policy = compileShadowPolicy({ timeout: '30s' });
    for (let i = 1; i <= 3; i++) {
      const r = await callAndShadow(shadow, { route: 'r', endpoint: ENDPOINT, policy, path: `/api/users/${i}`, primaryOrigin: legacy.origin, candidateOrigin: hanging.origin });
      expect(r.submitted).toBe('accepted');
    }
    await arrived;
    const started = Date.now();
    await shadow.close();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((await buildShadowReport(recorder)).routes[0].endpoints[0]).toMatchObject({ compared: 0, errors: { timeout: 3 } });
  });

  it('drops copies when the route queue is full and counts them', async () => {
    const release: (() => void)[] = [];
    const legacy = await server((req, res) => sendJson(res, 200, user(idOf(req.url))));
    const slow = await server((req, res) => { release.push(() => sendJson(res, 200, user(idOf(req.url)))); });
    const { recorder, registry, shadow } = engine();
    const policy = compileShadowPolicy({ queueSize: 1, concurrency: 1 });
    const results = [];
    for (let i = 1; i <= 4; i++) {
      results.push((await callAndShadow(shadow, { route: 'r', endpoint: ENDPOINT, policy, path: `/api/users/${i}`, primaryOrigin: legacy.origin, candidateOrigin: slow.origin })).submitted);
    }
    expect(results).toEqual(['accepted', 'accepted', 'dropped', 'dropped']);
    expect(await registry.metrics()).toContain('ficus_shadow_queue_depth{route="r"} 1');
    // Release candidate answers as they arrive until both accepted copies are done.
    const done = shadow.idle();
    while (slow.seen.length < 2 || release.length > 0) {
      const next = release.shift();
      if (next) next();
      else await new Promise((r) => setImmediate(r));
    }
    await done;
    const [ep] = (await buildShadowReport(recorder)).routes[0].endpoints;
    expect(ep).toMatchObject({ compared: 2, matched: 2, dropped: 2, droppedBy: { 'queue-full': 2 } });
    expect(await registry.metrics()).toContain('ficus_shadow_dropped_total{route="r",reason="queue-full"} 2');
    // The waiting copy started: the gauge went back to 0.
    expect(await registry.metrics()).toContain('ficus_shadow_queue_depth{route="r"} 0');
  });

  it('bounds the bytes held by waiting copies across the queue', async () => {
    const release: (() => void)[] = [];
    const legacy = await server((_req, res) => sendJson(res, 200, { pad: 'x'.repeat(50) }));
    const slow = await server((_req, res) => { release.push(() => sendJson(res, 200, { pad: 'x'.repeat(50) })); });
    const recorder = new MemoryRecorder();
    const shadow = new ShadowDispatcher({ recorder, maxBufferedBytes: 100, loadProbe: { utilization: () => 0, close: () => {} } });
    cleanup.push(() => shadow.close());
    const policy = compileShadowPolicy({});
    const call = () => callAndShadow(shadow, { route: 'r', endpoint: 'GET /p', policy, path: '/p', primaryOrigin: legacy.origin, candidateOrigin: slow.origin });
    expect((await call()).submitted).toBe('accepted'); // ~62 bytes held
    expect((await call()).submitted).toBe('dropped'); // would exceed 100
    while (release.length === 0) await new Promise((r) => setImmediate(r));
    release.shift()!();
    await shadow.idle();
    expect((await call()).submitted).toBe('accepted'); // the bytes were given back
    while (release.length === 0) await new Promise((r) => setImmediate(r));
    release.shift()!();
    await shadow.idle();
    expect((await buildShadowReport(recorder)).routes[0]).toMatchObject({ compared: 2, matched: 2, droppedBy: { 'queue-full': 1 } });
  });

  it('keeps draining copies queued before a reload changed the route limits', async () => {
    const release = new Map<string, () => void>();
    const legacy = await server((req, res) => sendJson(res, 200, user(idOf(req.url))));
    const slow = await server((req, res) => { release.set(req.url, () => sendJson(res, 200, user(idOf(req.url)))); });
    const { recorder, shadow } = engine();
    const compared = async () => (await buildShadowReport(recorder)).routes[0]?.compared ?? 0;
    const before = compileShadowPolicy({ concurrency: 1 });
    const after = compileShadowPolicy({ concurrency: 2 });
    const call = (policy: typeof before, i: number) => callAndShadow(shadow, { route: 'r', endpoint: ENDPOINT, policy, path: `/api/users/${i}`, primaryOrigin: legacy.origin, candidateOrigin: slow.origin });
    expect((await call(before, 1)).submitted).toBe('accepted');
    expect((await call(after, 2)).submitted).toBe('accepted');
    let idle = false;
    const done = shadow.idle().then(() => (idle = true));
    while (release.size < 2) await new Promise((r) => setImmediate(r));
    release.get('/api/users/2')!(); // the copy made under the new limits
    while ((await compared()) < 1) await new Promise((r) => setImmediate(r));
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(idle).toBe(false); // still waiting for the copy made under the old limits
    release.get('/api/users/1')!();
    await done;
    expect(await compared()).toBe(2);
  });

  it('sheds copies while the event loop is saturated, before they can slow clients', async () => {
    const legacy = await server((req, res) => sendJson(res, 200, user(idOf(req.url))));
    const next = await server((req, res) => sendJson(res, 200, user(idOf(req.url))));
    const { recorder, registry, shadow } = engine({ load: 0.95 });
    const policy = compileShadowPolicy({});
    const r = await callAndShadow(shadow, { route: 'r', endpoint: ENDPOINT, policy, path: '/api/users/1', primaryOrigin: legacy.origin, candidateOrigin: next.origin });
    expect(r).toMatchObject({ status: 200, submitted: 'dropped' });
    await shadow.idle();
    expect(next.seen).toHaveLength(0);
    expect((await buildShadowReport(recorder)).routes[0]).toMatchObject({ compared: 0, dropped: 1, droppedBy: { overload: 1 } });
    expect(await registry.metrics()).toContain('ficus_shadow_dropped_total{route="r",reason="overload"} 1');
  });

  it('labels live mode: the new service answers and legacy is verified against it', async () => {
    const legacy = await server((req, res) => sendJson(res, 200, { ...user(idOf(req.url)), legacy_only: true }));
    const next = await server((req, res) => sendJson(res, 200, user(idOf(req.url))));
    const { recorder, shadow } = engine();
    await runUsers(shadow, legacy, next, {}, 3, { mode: 'live' });
    const [route] = (await buildShadowReport(recorder)).routes;
    expect(route).toMatchObject({ mode: 'live', primary: 'new', candidate: 'legacy', compared: 3 });
    // Seen from the new service (primary), legacy has an extra field.
    expect(route.endpoints[0].topFields[0]).toMatchObject({ field: '$.legacy_only', example: { kind: 'extra', candidate: true } });
    expect(legacy.seen.every((r) => r.headers['x-ficus-shadow'] === '1')).toBe(true);
    expect(next.seen.some((r) => r.headers['x-ficus-shadow'] === '1')).toBe(false);
  });
});

describe('shadow copy target', () => {
  it('sends a protocol-relative path to the candidate origin, never to another host', async () => {
    const legacy = await server((_req, res) => sendJson(res, 200, { ok: true }));
    const next = await server((_req, res) => sendJson(res, 200, { ok: true }));
    const { recorder, shadow } = engine();
    const policy = compileShadowPolicy({});
    // The primary is called with a normal path; the exchange carries the tricky one.
    const r = await callAndShadow(shadow, { route: 'r', endpoint: 'GET /x', policy, path: '/x', primaryOrigin: legacy.origin, candidateOrigin: next.origin });
    expect(r.submitted).toBe('accepted');
    await shadow.idle();
    expect(shadow.submit(exchangeWithOkPrimary(policy, 'GET /x', '//evil.invalid/x', next.origin))).toBe('accepted');
    await shadow.idle();
    expect(next.seen.map((s) => s.url)).toEqual(['/x', '//evil.invalid/x']);
    expect((await buildShadowReport(recorder)).routes[0]).toMatchObject({ compared: 2, matched: 2 });
  });
});
