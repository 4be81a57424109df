import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * A throwaway database on the local Postgres (127.0.0.1:5432, trust auth), created through the
 * `test` database and dropped (with its connections) afterwards, so each test file owns its data.
 */
export const LOCAL_PG = 'postgres://postgres@127.0.0.1:5432';

export interface FreshDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: `${LOCAL_PG}/test` });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function createFreshDatabase(prefix: string): Promise<FreshDatabase> {
  const name = `ficus_${prefix}_${randomBytes(5).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  return {
    name,
    url: `${LOCAL_PG}/${name}`,
    drop: () => admin(async (c) => void (await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))),
  };
}
