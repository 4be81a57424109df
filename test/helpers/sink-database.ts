import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * A fresh database on the local Postgres (127.0.0.1:5432, trust auth) per test file; sinks need no
 * logical replication, so the shared server is enough. `drop()` removes it (connections forced).
 */
export const LOCAL_PG = process.env.FICUS_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432';

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  query<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  drop(): Promise<void>;
}

export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: `${LOCAL_PG}/test` });
  await admin.connect();
  await admin.query(`create database "${name}"`);
  await admin.end();
  const url = `${LOCAL_PG}/${name}`;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return {
    name,
    url,
    query: async <R extends pg.QueryResultRow>(sql: string, params: unknown[] = []) => (await client.query<R>(sql, params)).rows,
    drop: async () => {
      await client.end();
      const a = new pg.Client({ connectionString: `${LOCAL_PG}/test` });
      await a.connect();
      await a.query(`drop database if exists "${name}" with (force)`);
      await a.end();
    },
  };
}
