import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ensureLegacySchema, seedLegacy, startLegacyMonolith } from '../../../examples/legacy-monolith/index.js';
import type { RunningServer, SeedResult } from '../../../examples/legacy-monolith/index.js';
import { ensureUsersServiceSchema, startUsersService } from '../../../examples/users-service/index.js';
import type { FreshDatabase } from './fresh-database.js';
import { createFreshDatabase } from './fresh-database.js';
import type { Envelope } from './http-call.js';
import { call } from './http-call.js';

/**
 * The users service against its own database. CDC is another team's part, so the fixture below
 * plays it: it copies the monolith's users across with the column mapping CDC will apply
 * (email → email_address, name dropped) and adds a bookkeeping column like the sink's.
 */
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

let legacyDb: FreshDatabase;
let serviceDb: FreshDatabase;
let seed: SeedResult;
let service: RunningServer;
let monolith: RunningServer;

async function onService<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serviceDb.url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  [legacyDb, serviceDb] = await Promise.all([createFreshDatabase('legacy'), createFreshDatabase('users')]);
  await Promise.all([ensureLegacySchema(legacyDb.url), ensureUsersServiceSchema(serviceDb.url)]);
  seed = await seedLegacy(legacyDb.url, { users: 12, ordersPerUser: 1, seed: 11 });
  await onService(async (c) => {
    await c.query('ALTER TABLE users ADD COLUMN _ficus_lsn pg_lsn');
    await c.query(
      `INSERT INTO users (id, email_address, created_at, _ficus_lsn)
       SELECT u.*, '0/16B3748'::pg_lsn FROM unnest($1::uuid[], $2::text[], $3::timestamptz[]) AS u`,
      [seed.users.map((u) => u.id), seed.users.map((u) => u.email), seed.users.map((u) => u.created_at)],
    );
  });
});
afterAll(async () => {
  await Promise.all([legacyDb?.drop(), serviceDb?.drop()]);
});
beforeEach(async () => {
  [service, monolith] = await Promise.all([startUsersService({ databaseUrl: serviceDb.url }), startLegacyMonolith({ databaseUrl: legacyDb.url })]);
});
afterEach(async () => {
  await Promise.all([service.close(), monolith.close()]);
});

describe('users service: reads', () => {
  it('GET /healthz answers 200 with its own name', async () => {
    const r = await call('GET', `${service.url}/healthz`);
    expect(r.status).toBe(200);
    expect(r.body.data).toEqual({ status: 'ok', service: 'users-service', database: 'up' });
  });

  it('ensureUsersServiceSchema leaves a table the CDC sink already extended alone', async () => {
    await ensureUsersServiceSchema(serviceDb.url);
    const cols = await onService(async (c) => (await c.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'users' ORDER BY ordinal_position`)).rows.map((r) => r.column_name));
    expect(cols).toEqual(['id', 'email_address', 'created_at', '_ficus_lsn']);
  });

  it('GET /api/users lists users in the monolith’s order, with email_address served as a lower-cased email', async () => {
    const r = await call('GET', `${service.url}/api/users?limit=5&offset=2`);
    expect(r.status).toBe(200);
    expect(r.body.data).toEqual(seed.users.slice(2, 7).map((u) => ({ id: u.id, email: u.email.toLowerCase(), created_at: u.created_at })));
  });

  it('GET /api/users/:id returns one user; 404 when unknown; 400 when malformed', async () => {
    const u = seed.users[3];
    const r = await call('GET', `${service.url}/api/users/${u.id}`);
    expect(r.status).toBe(200);
    expect(r.body.data).toEqual({ id: u.id, email: u.email.toLowerCase(), created_at: u.created_at });
    const ghost = '00000000-0000-4000-8000-00000000000a';
    const missing = await call('GET', `${service.url}/api/users/${ghost}`);
    expect(missing.status).toBe(404);
    expect(missing.body.error).toEqual({ code: 'USER_NOT_FOUND', message: `no user with id ${ghost}` });
    const bad = await call('GET', `${service.url}/api/users/12`);
    expect(bad.status).toBe(400);
    expect(bad.body.error?.code).toBe('VALIDATION_FAILED');
    expect((await call('GET', `${service.url}/api/users?page=2`)).body.error?.message).toBe('query.page: unknown query parameter (allowed: limit, offset)');
  });

  it('serves a replicated row whose email_address is null as email null', async () => {
    const id = '00000000-0000-4000-8000-00000000000b';
    await onService((c) => c.query(`INSERT INTO users (id, email_address, created_at) VALUES ($1, NULL, '2030-01-01T00:00:00Z')`, [id]));
    try {
      const r = await call('GET', `${service.url}/api/users/${id}`);
      expect(r.body.data).toEqual({ id, email: null, created_at: '2030-01-01T00:00:00.000Z' });
    } finally {
      await onService((c) => c.query('DELETE FROM users WHERE id = $1', [id]));
    }
  });

  it('gives every response a fresh request_id, echoed in x-request-id, and a server_time', async () => {
    const a = await call('GET', `${service.url}/api/users?limit=1`);
    const b = await call('GET', `${service.url}/api/users?limit=1`);
    expect(a.body.request_id).not.toBe(b.body.request_id);
    expect(a.headers.get('x-request-id')).toBe(a.body.request_id);
    expect(b.headers.get('x-request-id')).toBe(b.body.request_id);
    expect(a.body.server_time).toMatch(ISO);
    expect(a.body.data).toEqual(b.body.data);
  });

  it('answers an unknown route with a 404 JSON error', async () => {
    const r = await call('GET', `${service.url}/api/orders`);
    expect(r.status).toBe(404);
    expect(r.body.error?.code).toBe('ROUTE_NOT_FOUND');
  });
});

describe('users service: writes stay on the monolith', () => {
  it.each([
    ['POST', '/api/users', { email: 'new@example.com' }],
    ['PUT', `/api/users/00000000-0000-4000-8000-00000000000c`, { name: 'x' }],
    ['DELETE', `/api/users/00000000-0000-4000-8000-00000000000c`, undefined],
    ['PATCH', `/api/users/00000000-0000-4000-8000-00000000000c`, { name: 'x' }],
  ])('%s %s answers 405 saying writes go to the monolith', async (method, path, body) => {
    const before = await onService(async (c) => (await c.query('SELECT count(*)::int AS n FROM users')).rows[0].n as number);
    const r = await call(method, `${service.url}${path}`, body);
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('GET, HEAD');
    expect(r.body.error?.code).toBe('WRITES_GO_TO_MONOLITH');
    expect(r.body.error?.message).toBe(`${method} ${path} is not served here: the users service is read-only while writes still go to the monolith`);
    expect(await onService(async (c) => (await c.query('SELECT count(*)::int AS n FROM users')).rows[0].n as number)).toBe(before);
  });
});

describe('users service vs monolith: the one deliberate difference', () => {
  /** What shadow comparison sees once the per-request noise and the field the service does not own are set aside. */
  function comparable(body: Envelope): unknown {
    const strip = (u: Record<string, unknown>) => {
      const { name: _name, ...rest } = u;
      return rest;
    };
    return Array.isArray(body.data) ? body.data.map((u) => strip(u as Record<string, unknown>)) : strip(body.data as Record<string, unknown>);
  }

  it('the monolith keeps mixed-case emails, the service lower-cases them; every other field agrees', async () => {
    const mixed = seed.users.filter((u) => u.email !== u.email.toLowerCase());
    const lower = seed.users.filter((u) => u.email === u.email.toLowerCase());
    expect(mixed.length).toBeGreaterThan(0);
    expect(lower.length).toBeGreaterThan(0);
    for (const u of seed.users) {
      const [m, s] = await Promise.all([call('GET', `${monolith.url}/api/users/${u.id}`), call('GET', `${service.url}/api/users/${u.id}`)]);
      expect(m.status).toBe(s.status);
      const mEmail = (m.body.data as { email: string }).email;
      const sEmail = (s.body.data as { email: string }).email;
      expect(mEmail).toBe(u.email);
      expect(sEmail).toBe(u.email.toLowerCase());
      expect(mEmail === sEmail).toBe(lower.includes(u));
      expect(comparable(s.body)).toEqual({ ...(comparable(m.body) as object), email: sEmail });
      expect(m.body.request_id).not.toBe(s.body.request_id);
    }
  });

  it('the lists agree on ids, order and timestamps and differ only in email case', async () => {
    const [m, s] = await Promise.all([call('GET', `${monolith.url}/api/users?limit=12`), call('GET', `${service.url}/api/users?limit=12`)]);
    const mUsers = comparable(m.body) as { email: string }[];
    const sUsers = comparable(s.body) as { email: string }[];
    expect(sUsers).toEqual(mUsers.map((u) => ({ ...u, email: u.email.toLowerCase() })));
    expect(sUsers).not.toEqual(mUsers);
  });

  it('both answer an unknown id with the same 404 error', async () => {
    const ghost = '00000000-0000-4000-8000-00000000000d';
    const [m, s] = await Promise.all([call('GET', `${monolith.url}/api/users/${ghost}`), call('GET', `${service.url}/api/users/${ghost}`)]);
    expect([m.status, s.status]).toEqual([404, 404]);
    expect(s.body.error).toEqual(m.body.error);
  });
});
