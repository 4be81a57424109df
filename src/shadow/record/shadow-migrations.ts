import type { Knex } from 'knex';
import * as m20261129Shadow from '../../../migrations/20261129_shadow.js';

/**
 * The shadow store's migrations as a knex migrationSource: statically imported, so the same code
 * runs from TypeScript (vitest) and from compiled JavaScript without knex guessing file
 * extensions. A table of its own keeps it independent of other components' migrations.
 */
const MIGRATIONS: Readonly<Record<string, Knex.Migration>> = Object.freeze({
  '20261129_shadow': m20261129Shadow,
});

export const SHADOW_MIGRATIONS_TABLE = 'ficus_shadow_migrations';

export const shadowMigrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(MIGRATIONS).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => MIGRATIONS[name],
};

export async function migrateShadowStore(knex: Knex): Promise<void> {
  await knex.migrate.latest({ migrationSource: shadowMigrationSource, tableName: SHADOW_MIGRATIONS_TABLE });
}
