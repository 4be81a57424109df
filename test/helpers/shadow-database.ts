import { randomBytes } from 'node:crypto';
import knexFactory from 'knex';
import type { Knex } from 'knex';

const ADMIN_URL = process.env.FICUS_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A fresh database on the local Postgres for one test file; drop() removes it. */
export async function createFreshDatabase(prefix: string): Promise<{ name: string; knex: Knex; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = knexFactory({ client: 'pg', connection: ADMIN_URL, pool: { min: 0, max: 1 } });
  await admin.raw(`create database "${name}"`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const knex = knexFactory({ client: 'pg', connection: url.toString(), pool: { min: 0, max: 4 } });
  return {
    name,
    knex,
    async drop() {
      await knex.destroy();
      await admin.raw(`drop database if exists "${name}" with (force)`);
      await admin.destroy();
    },
  };
}
