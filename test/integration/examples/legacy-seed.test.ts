import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureLegacySchema, generateLegacySeed, seedLegacy, seededRandom } from '../../../examples/legacy-monolith/index.js';
import type { FreshDatabase } from './fresh-database.js';
import { createFreshDatabase } from './fresh-database.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('generateLegacySeed', () => {
  it('gives the same rows for the same seed and different rows for another seed', () => {
    const a = generateLegacySeed({ users: 50, ordersPerUser: 2, seed: 1 });
    const b = generateLegacySeed({ users: 50, ordersPerUser: 2, seed: 1 });
    const c = generateLegacySeed({ users: 50, ordersPerUser: 2, seed: 2 });
    expect(b).toEqual(a);
    expect(c.users.map((u) => u.id)).not.toEqual(a.users.map((u) => u.id));
  });

  it('draws from an injected random source instead of the seed when given one', () => {
    const viaSeed = generateLegacySeed({ users: 3, ordersPerUser: 1, seed: 99 });
    const viaRandom = generateLegacySeed({ users: 3, ordersPerUser: 1, seed: 1, random: seededRandom(99) });
    expect(viaRandom).toEqual(viaSeed);
    // A constant source pins every choice: first names, last names and domains all index 0.
    const flat = generateLegacySeed({ users: 2, ordersPerUser: 1, random: () => 0, baseTime: Date.UTC(2020, 0, 1) });
    expect(flat.users[0]).toEqual({ id: '00000000-0000-4000-8000-000000000000', email: 'alice.mcallister1@example.com', name: null, created_at: '2020-01-01T00:00:00.000Z' });
    expect(flat.users[1].email).toBe('alice.mcallister2@example.com');
    expect(flat.orders[0]).toEqual({ id: '00000000-0000-4000-8000-000000000000', user_id: flat.users[0].id, total: '1.00', status: 'pending', created_at: '2020-01-02T00:00:00.000Z' });
  });

  it('makes valid v4 ids, unique emails, the asked number of orders and a mix of email cases', () => {
    const { users, orders } = generateLegacySeed({ users: 300, ordersPerUser: 3 });
    expect(users).toHaveLength(300);
    expect(orders).toHaveLength(900);
    expect(users.every((u) => UUID_V4.test(u.id))).toBe(true);
    expect(orders.every((o) => UUID_V4.test(o.id) && /^\d+\.\d{2}$/.test(o.total))).toBe(true);
    expect(new Set(users.map((u) => u.email)).size).toBe(300);
    const mixed = users.filter((u) => u.email !== u.email.toLowerCase()).length;
    expect(mixed).toBeGreaterThan(150);
    expect(mixed).toBeLessThan(250);
    for (const u of users.slice(0, 20)) {
      const mine = orders.filter((o) => o.user_id === u.id);
      expect(mine).toHaveLength(3);
      expect(mine.every((o) => o.created_at > u.created_at)).toBe(true);
    }
  });

  it('refuses counts that are not whole numbers in range, saying which', () => {
    expect(() => generateLegacySeed({ users: -1, ordersPerUser: 0 })).toThrow('seedLegacy: users must be a whole number between 0 and 1000000, got -1');
    expect(() => generateLegacySeed({ users: 1, ordersPerUser: 1.5 })).toThrow('seedLegacy: ordersPerUser must be a whole number between 0 and 1000, got 1.5');
  });
});

describe('seedLegacy', () => {
  let db: FreshDatabase;
  beforeAll(async () => {
    db = await createFreshDatabase('seed');
    await ensureLegacySchema(db.url);
    // Twice, concurrently: the advisory lock must keep CREATE TABLE IF NOT EXISTS from racing.
    await Promise.all([ensureLegacySchema(db.url), ensureLegacySchema(db.url)]);
  });
  afterAll(async () => {
    await db?.drop();
  });

  async function rows(sql: string): Promise<unknown[]> {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      return (await client.query(sql)).rows;
    } finally {
      await client.end();
    }
  }

  it('writes exactly the generated rows, and a second run with the same seed writes nothing', async () => {
    const first = await seedLegacy(db.url, { users: 1200, ordersPerUser: 2, seed: 5 });
    expect(first.inserted).toEqual({ users: 1200, orders: 2400 });
    const users = await rows(`SELECT id, email, name, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_at FROM users ORDER BY created_at, id`);
    expect(users).toEqual(first.users);
    const orders = await rows(`SELECT id, user_id, total::text AS total, status, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_at FROM orders ORDER BY id`);
    expect(orders).toEqual([...first.orders].sort((a, b) => (a.id < b.id ? -1 : 1)));
    const again = await seedLegacy(db.url, { users: 1200, ordersPerUser: 2, seed: 5 });
    expect(again.inserted).toEqual({ users: 0, orders: 0 });
    expect(again.users).toEqual(first.users);
  });
});
