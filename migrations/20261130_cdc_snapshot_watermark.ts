import type { Knex } from 'knex';

/**
 * The snapshot watermark: `ficus_cdc_table_position.snapshot_lsn` is the consistent point of the
 * newest snapshot that was written into the target table while it was empty. Such a table holds
 * exactly the snapshot, which reflects every change committed before its consistent point, so any
 * streamed or replayed event with a lower commit LSN is stale for the table. This table-wide bound
 * replaces one LSN-guard row per snapshot row (src/cdc/sink/snapshot-writer.ts), which made the
 * initial snapshot write every row twice.
 *
 * A table that was never truncated keeps the position (0/0, 0) in truncated_lsn/truncated_seq:
 * before every real change, so it cuts nothing.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('ficus_cdc_table_position', (t) => {
    t.specificType('snapshot_lsn', 'pg_lsn').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('ficus_cdc_table_position', (t) => {
    t.dropColumn('snapshot_lsn');
  });
}
