import type { Knex } from 'knex';
import * as cdcSink20261129 from './20261129_cdc_sink.js';
import * as cdcSnapshotWatermark20261130 from './20261130_cdc_snapshot_watermark.js';

/**
 * Ficus's migrations as imported modules behind a knex `migrationSource`, instead of a directory
 * knex scans: the same code then runs from the TypeScript tests (vitest) and from compiled JS in
 * dist/, with no file-extension or loader configuration. Add new migrations to the list, in order;
 * never rename or edit a shipped one.
 */
const MIGRATIONS: ReadonlyArray<readonly [name: string, migration: Knex.Migration]> = [
  ['20261129_cdc_sink', cdcSink20261129],
  ['20261130_cdc_snapshot_watermark', cdcSnapshotWatermark20261130],
];

export const ficusMigrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => MIGRATIONS.map(([name]) => name),
  getMigrationName: (name) => name,
  getMigration: async (name) => {
    const found = MIGRATIONS.find(([n]) => n === name);
    if (!found) throw new Error(`unknown ficus migration ${name}`);
    return found[1];
  },
};

/** Knex's bookkeeping tables get ficus names, so they never collide with a service's own knex migrations. */
export const FICUS_MIGRATIONS_TABLE = 'ficus_knex_migrations';

export async function migrateFicusTables(db: Knex): Promise<void> {
  await db.migrate.latest({ migrationSource: ficusMigrationSource, tableName: FICUS_MIGRATIONS_TABLE });
}
