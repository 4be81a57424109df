import type { Knex } from 'knex';

/**
 * Ficus's own bookkeeping tables inside each sink (service) database. They live beside the
 * service's tables, never inside them: the service owns its schema and its ORM may `SELECT *`.
 *
 * - ficus_cdc_sink_position: the last source position a sink applied, per source slot; written in
 *   the same transaction as the rows, so after a crash it never claims rows that are not there.
 * - ficus_cdc_row_position: the source position each target row was last written at (the LSN
 *   guard). Keyed by (target table, primary key) in a side table rather than a column on the
 *   target, because it must outlive a delete: a replayed older insert must not resurrect a row
 *   that was deleted later.
 * - ficus_cdc_table_position: the position of the last truncate per target table; events at or
 *   before it are stale.
 * - ficus_cdc_dead_letter: events that kept failing, with the error; the stream moved on.
 *
 * Positions are (lsn pg_lsn, seq bigint), compared as a row value: the commit LSN of the source
 * transaction, then the event's index inside it (see src/cdc/event/change-event.ts EventPosition).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('ficus_cdc_sink_position', (t) => {
    t.text('sink').notNullable();
    t.text('source_id').notNullable();
    t.specificType('lsn', 'pg_lsn').notNullable();
    t.bigInteger('seq').notNullable();
    t.bigInteger('events_applied').notNullable().defaultTo(0);
    t.bigInteger('last_event_ts_ms').nullable();
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['sink', 'source_id']);
  });
  // Byte-order ("C") collation: the guard compares these keys once per event, and no one sorts
  // them for humans. fillfactor leaves room on each page so position updates stay HOT updates.
  await knex.schema.createTable('ficus_cdc_row_position', (t) => {
    t.specificType('target_table', 'text collate "C"').notNullable();
    t.specificType('row_key', 'text collate "C"').notNullable();
    t.specificType('lsn', 'pg_lsn').notNullable();
    t.bigInteger('seq').notNullable();
    t.boolean('deleted').notNullable().defaultTo(false);
    t.primary(['target_table', 'row_key']);
  });
  await knex.raw('alter table ficus_cdc_row_position set (fillfactor = 80)');
  await knex.schema.createTable('ficus_cdc_table_position', (t) => {
    t.text('target_table').primary();
    t.specificType('truncated_lsn', 'pg_lsn').notNullable();
    t.bigInteger('truncated_seq').notNullable();
  });
  await knex.schema.createTable('ficus_cdc_dead_letter', (t) => {
    t.bigIncrements('id').primary();
    t.text('sink').notNullable();
    t.text('source_id').notNullable();
    t.text('source_table').notNullable();
    t.text('target_table').notNullable();
    t.text('row_key').nullable();
    t.text('op').notNullable();
    t.specificType('lsn', 'pg_lsn').notNullable();
    t.bigInteger('seq').notNullable();
    t.jsonb('event').notNullable();
    t.text('error').notNullable();
    t.text('error_code').nullable();
    t.integer('attempts').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['sink', 'id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('ficus_cdc_dead_letter');
  await knex.schema.dropTableIfExists('ficus_cdc_table_position');
  await knex.schema.dropTableIfExists('ficus_cdc_row_position');
  await knex.schema.dropTableIfExists('ficus_cdc_sink_position');
}
