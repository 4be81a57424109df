import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ensureLegacySchema, seedLegacy, startLegacyMonolith } from '../../../examples/legacy-monolith/index.js';
import type { RunningServer, SeedResult } from '../../../examples/legacy-monolith/index.js';
import type { FreshDatabase } from './fresh-database.js';
import { createFreshDatabase, LOCAL_PG } from './fresh-database.js';
import { call } from './http-call.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let db: FreshDatabase;
let seed: SeedResult;
let server: RunningServer;
let n = 0;
const uniqueEmail = (tag: string) => `${tag}.${Date.now()}.${n++}@Test.Example.com`;

beforeAll(async () => {
  db = await createFreshDatabase('legacy');
  await ensureLegacySchema(db.url);
  seed = await seedLegacy(db.url, { users: 6, ordersPerUser: 3, seed: 7 });
});
afterAll(async () => {
  await db?.drop();
});
beforeEach(async () => {
  server = await startLegacyMonolith({ databaseUrl: db.url });
});
afterEach(async () => {
  await server.close();
});

async function createUser(body: Record<string, unknown>): Promise<{ id: string; email: string }> {
  const r = await call('POST', `${server.url}/api/users`, body);
  expect(r.status).toBe(201);
  return r.body.data as { id: string; email: string };
}

describe('legacy monolith: envelope and health', () => {
  it('GET /healthz answers 200 with the database up', async () => {
    const r = await call('GET', `${server.url}/healthz`);
    expect(r.status).toBe(200);
    expect(r.body.data).toEqual({ status: 'ok', service: 'legacy-monolith', database: 'up' });
  });

  it('gives every response a fresh request_id (echoed in x-request-id) and the server_time', async () => {
    const before = Date.now();
    const a = await call('GET', `${server.url}/api/users/${seed.users[0].id}`);
    const b = await call('GET', `${server.url}/api/users/${seed.users[0].id}`);
    const after = Date.now();
    for (const r of [a, b]) {
      expect(r.body.request_id).toMatch(UUID);
      expect(r.headers.get('x-request-id')).toBe(r.body.request_id);
      expect(r.body.server_time).toMatch(ISO);
      const t = Date.parse(r.body.server_time);
      expect(t).toBeGreaterThanOrEqual(before);
      expect(t).toBeLessThanOrEqual(after);
    }
    expect(a.body.request_id).not.toBe(b.body.request_id);
    expect(a.body.data).toEqual(b.body.data);
  });

  it('takes the clock and id generator it is given', async () => {
    let i = 0;
    const fixed = await startLegacyMonolith({ databaseUrl: db.url, envelope: { now: () => new Date(Date.UTC(2030, 0, 2)), newRequestId: () => `req-${++i}` } });
    try {
      const r = await call('GET', `${fixed.url}/healthz`);
      expect(r.body.request_id).toBe('req-1');
      expect(r.headers.get('x-request-id')).toBe('req-1');
      expect(r.body.server_time).toBe('2030-01-02T00:00:00.000Z');
      const missing = await call('GET', `${fixed.url}/nope`);
      expect(missing.body).toEqual({ error: { code: 'ROUTE_NOT_FOUND', message: 'no route for GET /nope' }, request_id: 'req-2', server_time: '2030-01-02T00:00:00.000Z' });
    } finally {
      await fixed.close();
    }
  });

  it('answers an unknown route with a 404 JSON error', async () => {
    const r = await call('PATCH', `${server.url}/api/nothing/here`);
    expect(r.status).toBe(404);
    expect(r.body.error?.code).toBe('ROUTE_NOT_FOUND');
    expect(r.body.error?.message).toBe('no route for PATCH /api/nothing/here');
  });

  it('reports an unreachable database as 503 on /healthz and 500 INTERNAL elsewhere, logging the cause', async () => {
    const logged: string[] = [];
    const broken = await startLegacyMonolith({ databaseUrl: `${LOCAL_PG}/${db.name}_missing`, onError: (_err, id) => logged.push(id) });
    try {
      const health = await call('GET', `${broken.url}/healthz`);
      expect(health.status).toBe(503);
      expect(health.body.error?.code).toBe('DATABASE_DOWN');
      expect(health.body.error?.message).toContain('does not exist');
      const r = await call('GET', `${broken.url}/api/users`);
      expect(r.status).toBe(500);
      expect(r.body.error?.code).toBe('INTERNAL');
      expect(logged).toEqual([r.body.request_id]);
      expect(r.body.error?.message).toContain(r.body.request_id);
    } finally {
      await broken.close();
    }
  });
});

describe('legacy monolith: /api/users', () => {
  it('GET /api/users lists users oldest first, with emails in the case they were written', async () => {
    const r = await call('GET', `${server.url}/api/users?limit=6`);
    expect(r.status).toBe(200);
    expect(r.body.data).toEqual(seed.users);
    expect(seed.users.some((u) => u.email !== u.email.toLowerCase())).toBe(true);
  });

  it('GET /api/users pages with limit and offset', async () => {
    const r = await call('GET', `${server.url}/api/users?limit=2&offset=3`);
    expect(r.body.data).toEqual(seed.users.slice(3, 5));
  });

  it('GET /api/users refuses bad paging and unknown parameters, naming each', async () => {
    const r = await call('GET', `${server.url}/api/users?limit=0&offset=-1&sort=name`);
    expect(r.status).toBe(400);
    expect(r.body.error?.code).toBe('VALIDATION_FAILED');
    expect(r.body.error?.details?.map((d) => d.path)).toEqual(['query.sort', 'query.limit', 'query.offset']);
    expect(r.body.error?.message).toContain('query.sort: unknown query parameter (allowed: limit, offset)');
    const twice = await call('GET', `${server.url}/api/users?limit=1&limit=2`);
    expect(twice.body.error?.message).toBe('query.limit: must be given once, as a plain value');
  });

  it('GET /api/users/:id returns the user, 404 for an unknown id and 400 for a malformed one', async () => {
    const ok = await call('GET', `${server.url}/api/users/${seed.users[2].id}`);
    expect(ok.status).toBe(200);
    expect(ok.body.data).toEqual(seed.users[2]);
    const unknown = '00000000-0000-4000-8000-000000000000';
    const missing = await call('GET', `${server.url}/api/users/${unknown}`);
    expect(missing.status).toBe(404);
    expect(missing.body.error).toEqual({ code: 'USER_NOT_FOUND', message: `no user with id ${unknown}` });
    const bad = await call('GET', `${server.url}/api/users/not-a-uuid`);
    expect(bad.status).toBe(400);
    expect(bad.body.error?.message).toContain('params.id: must be a UUID');
  });

  it('POST /api/users creates a user, keeps the email case and points Location at it', async () => {
    const email = uniqueEmail('Grace.Hopper');
    const r = await call('POST', `${server.url}/api/users`, { email, name: 'Grace Hopper' });
    expect(r.status).toBe(201);
    const user = r.body.data as { id: string; email: string; name: string; created_at: string };
    expect(user).toMatchObject({ email, name: 'Grace Hopper' });
    expect(user.id).toMatch(UUID);
    expect(user.created_at).toMatch(ISO);
    expect(r.headers.get('location')).toBe(`/api/users/${user.id}`);
    expect((await call('GET', `${server.url}/api/users/${user.id}`)).body.data).toEqual(user);
    const noName = await createUser({ email: uniqueEmail('anon') });
    expect(noName).toMatchObject({ name: null });
  });

  it('POST /api/users answers 409 for an email already taken', async () => {
    const r = await call('POST', `${server.url}/api/users`, { email: seed.users[0].email });
    expect(r.status).toBe(409);
    expect(r.body.error).toEqual({ code: 'EMAIL_TAKEN', message: `a user with email ${seed.users[0].email} already exists` });
  });

  it('POST /api/users lists every validation problem in one 400', async () => {
    const r = await call('POST', `${server.url}/api/users`, { email: 'nope', name: 42, id: 'x' });
    expect(r.status).toBe(400);
    expect(r.body.error?.details?.map((d) => d.path)).toEqual(['body.id', 'body.email', 'body.name']);
    expect(r.body.error?.message).toContain('body.id: unknown or read-only field (accepted: email, name)');
    const empty = await call('POST', `${server.url}/api/users`, {});
    expect(empty.body.error?.message).toBe('body.email: must be an email address like ada@example.com (at most 254 characters), got undefined');
  });

  it('POST /api/users refuses a missing body, a non-object body and malformed JSON', async () => {
    const none = await call('POST', `${server.url}/api/users`, undefined, { rawBody: 'email=a@b.c', contentType: 'application/x-www-form-urlencoded' });
    expect(none.status).toBe(400);
    expect(none.body.error?.message).toBe('body: a JSON object is required (send Content-Type: application/json)');
    const array = await call('POST', `${server.url}/api/users`, [{ email: 'a@b.co' }]);
    expect(array.body.error?.message).toBe('body: must be a JSON object, got an array');
    const broken = await call('POST', `${server.url}/api/users`, undefined, { rawBody: '{"email": ' });
    expect(broken.status).toBe(400);
    expect(broken.body.error?.code).toBe('BODY_NOT_JSON');
  });

  it('PUT /api/users/:id changes only the fields given', async () => {
    const user = await createUser({ email: uniqueEmail('Put'), name: 'Before' });
    const r = await call('PUT', `${server.url}/api/users/${user.id}`, { name: 'After' });
    expect(r.status).toBe(200);
    expect(r.body.data).toMatchObject({ id: user.id, email: user.email, name: 'After' });
    const email = uniqueEmail('Put.Again');
    const r2 = await call('PUT', `${server.url}/api/users/${user.id}`, { email, name: null });
    expect(r2.body.data).toMatchObject({ id: user.id, email, name: null });
  });

  it('PUT /api/users/:id answers 400 for an empty change, 404 for an unknown id, 409 for a taken email', async () => {
    const user = await createUser({ email: uniqueEmail('PutErr') });
    const empty = await call('PUT', `${server.url}/api/users/${user.id}`, {});
    expect(empty.status).toBe(400);
    expect(empty.body.error?.message).toBe('body: give at least one of: email, name');
    const missing = await call('PUT', `${server.url}/api/users/00000000-0000-4000-8000-000000000001`, { name: 'x' });
    expect(missing.status).toBe(404);
    const taken = await call('PUT', `${server.url}/api/users/${user.id}`, { email: seed.users[1].email });
    expect(taken.status).toBe(409);
    expect(taken.body.error?.code).toBe('EMAIL_TAKEN');
  });

  it('DELETE /api/users/:id removes the user, then answers 404', async () => {
    const user = await createUser({ email: uniqueEmail('Del') });
    const r = await call('DELETE', `${server.url}/api/users/${user.id}`);
    expect(r.status).toBe(200);
    expect(r.body.data).toMatchObject({ id: user.id });
    expect((await call('GET', `${server.url}/api/users/${user.id}`)).status).toBe(404);
    expect((await call('DELETE', `${server.url}/api/users/${user.id}`)).status).toBe(404);
  });

  it('DELETE /api/users/:id answers 409 while the user has orders', async () => {
    const r = await call('DELETE', `${server.url}/api/users/${seed.users[0].id}`);
    expect(r.status).toBe(409);
    expect(r.body.error).toEqual({ code: 'USER_HAS_ORDERS', message: `user ${seed.users[0].id} still has 3 order(s); delete them first` });
  });
});

describe('legacy monolith: /api/orders', () => {
  it('GET /api/orders lists orders oldest first and narrows by user_id', async () => {
    const all = await call('GET', `${server.url}/api/orders?limit=500`);
    expect(all.status).toBe(200);
    const byTime = [...seed.orders].sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
    expect((all.body.data as unknown[]).slice(0, seed.orders.length)).toEqual(byTime);
    const user = seed.users[4];
    const mine = await call('GET', `${server.url}/api/orders?user_id=${user.id}`);
    expect(mine.body.data).toEqual(seed.orders.filter((o) => o.user_id === user.id));
    expect(mine.body.data).toHaveLength(3);
  });

  it('GET /api/orders refuses a malformed user_id and a misspelt filter', async () => {
    const bad = await call('GET', `${server.url}/api/orders?user_id=42`);
    expect(bad.status).toBe(400);
    expect(bad.body.error?.message).toBe('query.user_id: must be a UUID like 0b6f3c4e-8a1d-4c2b-9f3e-1a2b3c4d5e6f, got "42"');
    const typo = await call('GET', `${server.url}/api/orders?userId=${seed.users[0].id}`);
    expect(typo.status).toBe(400);
    expect(typo.body.error?.message).toBe('query.userId: unknown query parameter (allowed: limit, offset, user_id)');
  });

  it('GET /api/orders/:id returns the order with its total as a two-decimal string; 404 and 400 otherwise', async () => {
    const order = seed.orders[5];
    const r = await call('GET', `${server.url}/api/orders/${order.id}`);
    expect(r.status).toBe(200);
    expect(r.body.data).toEqual(order);
    expect(order.total).toMatch(/^\d+\.\d{2}$/);
    expect((await call('GET', `${server.url}/api/orders/00000000-0000-4000-8000-000000000002`)).body.error?.code).toBe('ORDER_NOT_FOUND');
    expect((await call('GET', `${server.url}/api/orders/x`)).status).toBe(400);
  });

  it('POST /api/orders creates a pending order by default', async () => {
    const user = await createUser({ email: uniqueEmail('Buyer') });
    const r = await call('POST', `${server.url}/api/orders`, { user_id: user.id, total: 12.5 });
    expect(r.status).toBe(201);
    const order = r.body.data as { id: string; created_at: string };
    expect(order).toMatchObject({ user_id: user.id, total: '12.50', status: 'pending' });
    expect(order.id).toMatch(UUID);
    expect(order.created_at).toMatch(ISO);
    expect(r.headers.get('location')).toBe(`/api/orders/${order.id}`);
    const paid = await call('POST', `${server.url}/api/orders`, { user_id: user.id, total: '99999999.99', status: 'paid' });
    expect(paid.body.data).toMatchObject({ total: '99999999.99', status: 'paid' });
  });

  it('POST /api/orders names every bad field, and an unknown user', async () => {
    const missing = await call('POST', `${server.url}/api/orders`, {});
    expect(missing.status).toBe(400);
    expect(missing.body.error?.message).toBe('body.user_id: is required; body.total: is required');
    const bad = await call('POST', `${server.url}/api/orders`, { user_id: 'u1', total: 1.234, status: 'lost' });
    expect(bad.body.error?.details?.map((d) => d.path)).toEqual(['body.user_id', 'body.total', 'body.status']);
    expect(bad.body.error?.message).toContain('body.status: must be one of pending, paid, shipped, cancelled, got "lost"');
    const negative = await call('POST', `${server.url}/api/orders`, { user_id: seed.users[0].id, total: -1 });
    expect(negative.body.error?.details?.[0].path).toBe('body.total');
    const ghost = '00000000-0000-4000-8000-000000000003';
    const noUser = await call('POST', `${server.url}/api/orders`, { user_id: ghost, total: 1 });
    expect(noUser.status).toBe(400);
    expect(noUser.body.error?.message).toBe(`body.user_id: no user with id ${ghost}`);
  });

  it('PUT /api/orders/:id changes the fields given; 404 for unknown, 400 for an unknown user', async () => {
    const user = await createUser({ email: uniqueEmail('Changer') });
    const created = (await call('POST', `${server.url}/api/orders`, { user_id: user.id, total: 3 })).body.data as { id: string };
    const r = await call('PUT', `${server.url}/api/orders/${created.id}`, { status: 'shipped', total: '4.05' });
    expect(r.status).toBe(200);
    expect(r.body.data).toMatchObject({ id: created.id, user_id: user.id, status: 'shipped', total: '4.05' });
    const ghost = '00000000-0000-4000-8000-000000000004';
    expect((await call('PUT', `${server.url}/api/orders/${created.id}`, { user_id: ghost })).body.error?.message).toBe(`body.user_id: no user with id ${ghost}`);
    expect((await call('PUT', `${server.url}/api/orders/${ghost}`, { status: 'paid' })).status).toBe(404);
    expect((await call('PUT', `${server.url}/api/orders/${created.id}`, {})).status).toBe(400);
  });

  it('DELETE /api/orders/:id removes the order, then answers 404; the user can then be deleted', async () => {
    const user = await createUser({ email: uniqueEmail('Leaver') });
    const created = (await call('POST', `${server.url}/api/orders`, { user_id: user.id, total: 1 })).body.data as { id: string };
    expect((await call('DELETE', `${server.url}/api/users/${user.id}`)).status).toBe(409);
    const r = await call('DELETE', `${server.url}/api/orders/${created.id}`);
    expect(r.status).toBe(200);
    expect(r.body.data).toMatchObject({ id: created.id });
    expect((await call('DELETE', `${server.url}/api/orders/${created.id}`)).status).toBe(404);
    expect((await call('DELETE', `${server.url}/api/users/${user.id}`)).status).toBe(200);
  });
});

describe('legacy monolith: reports', () => {
  function expected(userId: string) {
    const mine = seed.orders.filter((o) => o.user_id === userId);
    const cents = (xs: typeof mine) => xs.reduce((s, o) => s + Math.round(Number(o.total) * 100), 0);
    const fmt = (c: number) => (c / 100).toFixed(2);
    return { mine, total: fmt(cents(mine)), cents, fmt };
  }

  it('GET /reports/:id sums the user’s orders (v1)', async () => {
    const user = seed.users[1];
    const r = await call('GET', `${server.url}/reports/${user.id}`);
    expect(r.status).toBe(200);
    expect(r.body.data).toEqual({ report: 'user-orders', version: 1, user_id: user.id, order_count: 3, total_spent: expected(user.id).total });
  });

  it('GET /v2/reports/:id adds a per-status breakdown', async () => {
    const user = seed.users[1];
    const { mine, total, cents, fmt } = expected(user.id);
    const byStatus: Record<string, { orders: number; total: string }> = {};
    for (const status of new Set(mine.map((o) => o.status))) {
      const some = mine.filter((o) => o.status === status);
      byStatus[status] = { orders: some.length, total: fmt(cents(some)) };
    }
    const r = await call('GET', `${server.url}/v2/reports/${user.id}`);
    expect(r.body.data).toEqual({ report: 'user-orders', version: 2, user_id: user.id, order_count: 3, total_spent: total, by_status: byStatus });
  });

  it('reports answer 404 for an unknown user and 400 for a malformed id', async () => {
    expect((await call('GET', `${server.url}/reports/00000000-0000-4000-8000-000000000005`)).body.error?.code).toBe('USER_NOT_FOUND');
    expect((await call('GET', `${server.url}/v2/reports/abc`)).status).toBe(400);
  });
});
