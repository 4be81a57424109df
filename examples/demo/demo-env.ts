import pg from 'pg';
import { ensureLegacySchema, seedLegacy, startLegacyMonolith } from '../legacy-monolith/index.js';
import type { RunningServer } from '../legacy-monolith/index.js';
import { ensureUsersServiceSchema, startUsersService } from '../users-service/index.js';
import type { EmbeddedPg } from '../../src/util/embedded-postgres.js';
import { startEmbeddedPostgres } from '../../src/util/embedded-postgres.js';
import type { SeededUser } from './traffic.js';

/**
 * The system being migrated, started from nothing: an embedded Postgres (wal_level=logical) with
 * the monolith's database and the users service's own database, the seed, and both apps on free
 * ports. Closing stops them in reverse order.
 */
export const LEGACY_DB = 'legacy';
export const USERS_DB = 'users_service';

export interface DemoEnv {
  readonly pg: EmbeddedPg;
  readonly legacyDbUrl: string;
  readonly usersDbUrl: string;
  readonly monolith: RunningServer;
  readonly usersService: RunningServer;
  readonly users: readonly SeededUser[];
  readonly orders: number;
  close(): Promise<void>;
}

export async function startDemoEnv(options: { users: number; ordersPerUser: number; seed: number }): Promise<DemoEnv> {
  const embedded = await startEmbeddedPostgres();
  const closers: (() => Promise<void>)[] = [() => embedded.stop()];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => {});
  };
  try {
    await withClient(embedded.url(), async (c) => {
      await c.query(`CREATE DATABASE ${LEGACY_DB}`);
      await c.query(`CREATE DATABASE ${USERS_DB}`);
    });
    const legacyDbUrl = embedded.url(LEGACY_DB);
    const usersDbUrl = embedded.url(USERS_DB);
    await ensureLegacySchema(legacyDbUrl);
    await ensureUsersServiceSchema(usersDbUrl);
    const seeded = await seedLegacy(legacyDbUrl, { users: options.users, ordersPerUser: options.ordersPerUser, seed: options.seed });
    const monolith = await startLegacyMonolith({ databaseUrl: legacyDbUrl });
    closers.push(() => monolith.close());
    const usersService = await startUsersService({ databaseUrl: usersDbUrl });
    closers.push(() => usersService.close());
    return {
      pg: embedded,
      legacyDbUrl,
      usersDbUrl,
      monolith,
      usersService,
      users: seeded.users.map((u) => ({ id: u.id, email: u.email })),
      orders: seeded.orders.length,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function countRows(url: string, table: string): Promise<number> {
  return withClient(url, async (c) => Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0].n));
}
