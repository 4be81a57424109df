import { createPgPool, withTransaction } from '../shared/pg-pool.js';
import { seededRandom } from '../../src/util/clock.js';

/**
 * Deterministic seed data for the monolith. The same seed (or the same injected random source)
 * always yields the same users and orders, ids and timestamps included, so the demo, the tests and
 * the benchmarks can name rows without querying for them first.
 *
 * About two thirds of the emails carry capital letters (`Alice.McAllister1@Example.com`), the rest
 * are already lower-case: the users service lower-cases emails, so the shadow report should find a
 * difference on some users and not on others.
 */
export type RandomSource = () => number;

export interface SeedOptions {
  readonly users: number;
  readonly ordersPerUser: number;
  /** Injected randomness; wins over `seed`. Must return numbers in [0, 1). */
  readonly random?: RandomSource;
  /** Seed for the built-in generator when `random` is not given (default 42). */
  readonly seed?: number;
  /** Creation time of the first user, ms since the epoch (default 2024-01-01T00:00:00Z). */
  readonly baseTime?: number;
}

export interface SeedUser {
  readonly id: string;
  readonly email: string;
  readonly name: string | null;
  readonly created_at: string;
}

export interface SeedOrder {
  readonly id: string;
  readonly user_id: string;
  /** Two decimals, as Postgres numeric(10,2) prints it. */
  readonly total: string;
  readonly status: OrderStatus;
  readonly created_at: string;
}

export interface SeedData {
  readonly users: readonly SeedUser[];
  readonly orders: readonly SeedOrder[];
}

export interface SeedResult extends SeedData {
  /** Rows actually written; re-running the same seed writes none (rows that exist are skipped). */
  readonly inserted: { readonly users: number; readonly orders: number };
}

export const ORDER_STATUSES = ['pending', 'paid', 'shipped', 'cancelled'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

const FIRST = ['Alice', 'Bob', 'Chloé', 'Dmitri', 'Eve', 'Farah', 'Gus', 'Hana', 'Ivan', 'Jun', 'Kofi', 'Lena', 'Mateo', 'Noor', 'Oskar', 'Priya'];
const LAST = ['McAllister', 'DeLuca', 'VanDyke', 'Okafor', 'Nakamura', 'Svensson', 'LeBlanc', 'Kowalski', 'MacLeod', 'DiMaggio'];
const DOMAINS = ['Example.com', 'ACME.io', 'Mail.Example.org', 'example.net'];
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** The seed's random source: ficus's repeatable one (mulberry32), re-exported for callers. */
export { seededRandom };

function pick<T>(random: RandomSource, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)];
}

/** A version-4 UUID built from the injected random source. */
export function randomUuid(random: RandomSource): string {
  const b = Array.from({ length: 16 }, () => Math.floor(random() * 256));
  b[6] = (b[6] & 0x0f) | 0x40; // version 4
  b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
  const hex = b.map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function checkCount(name: string, value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`seedLegacy: ${name} must be a whole number between 0 and ${max}, got ${String(value)}`);
  }
  return value;
}

/** Pure part of the seed: the rows, without touching a database. */
export function generateLegacySeed(options: SeedOptions): SeedData {
  const userCount = checkCount('users', options.users, 1_000_000);
  const perUser = checkCount('ordersPerUser', options.ordersPerUser, 1_000);
  const random = options.random ?? seededRandom(options.seed ?? 42);
  const baseTime = options.baseTime ?? Date.UTC(2024, 0, 1);
  const users: SeedUser[] = [];
  const orders: SeedOrder[] = [];
  for (let i = 0; i < userCount; i++) {
    // The draw order below is part of the determinism contract: change it and every id changes.
    const id = randomUuid(random);
    const first = pick(random, FIRST);
    const last = pick(random, LAST);
    const domain = pick(random, DOMAINS);
    const mixedCase = random() >= 0.35;
    const hasName = random() >= 0.1;
    const joined = baseTime + i * HOUR_MS + Math.floor(random() * 3600) * 1000;
    // The index keeps emails unique whatever names are drawn.
    const email = `${first}.${last}${i + 1}@${domain}`;
    users.push({ id, email: mixedCase ? email : email.toLowerCase(), name: hasName ? `${first} ${last}` : null, created_at: new Date(joined).toISOString() });
    let at = joined;
    for (let j = 0; j < perUser; j++) {
      const orderId = randomUuid(random);
      const cents = 100 + Math.floor(random() * 49_900);
      const status = pick(random, ORDER_STATUSES);
      at += Math.floor(random() * 30 * 24) * HOUR_MS + DAY_MS;
      orders.push({ id: orderId, user_id: id, total: (cents / 100).toFixed(2), status, created_at: new Date(at).toISOString() });
    }
  }
  return { users, orders };
}

const BATCH = 1000;

/**
 * Writes the seed rows in one transaction, in batches. Rows whose id (or, for users, email) is
 * already there are skipped, so seeding twice with the same seed is a no-op; orders whose user was
 * skipped for an email clash are skipped too rather than failing on the foreign key.
 */
export async function seedLegacy(databaseUrl: string, options: SeedOptions): Promise<SeedResult> {
  const data = generateLegacySeed(options);
  const pool = createPgPool(databaseUrl, { max: 1 });
  try {
    const inserted = await withTransaction(pool, async (client) => {
      let users = 0;
      for (let i = 0; i < data.users.length; i += BATCH) {
        const batch = data.users.slice(i, i + BATCH);
        const r = await client.query(
          `INSERT INTO users (id, email, name, created_at)
           SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[])
           ON CONFLICT DO NOTHING`,
          [batch.map((u) => u.id), batch.map((u) => u.email), batch.map((u) => u.name), batch.map((u) => u.created_at)],
        );
        users += r.rowCount ?? 0;
      }
      let orders = 0;
      for (let i = 0; i < data.orders.length; i += BATCH) {
        const batch = data.orders.slice(i, i + BATCH);
        const r = await client.query(
          `INSERT INTO orders (id, user_id, total, status, created_at)
           SELECT o.* FROM unnest($1::uuid[], $2::uuid[], $3::numeric[], $4::text[], $5::timestamptz[])
             AS o(id, user_id, total, status, created_at)
           WHERE EXISTS (SELECT 1 FROM users u WHERE u.id = o.user_id)
           ON CONFLICT DO NOTHING`,
          [batch.map((o) => o.id), batch.map((o) => o.user_id), batch.map((o) => o.total), batch.map((o) => o.status), batch.map((o) => o.created_at)],
        );
        orders += r.rowCount ?? 0;
      }
      return { users, orders };
    });
    return { ...data, inserted };
  } finally {
    await pool.end();
  }
}
