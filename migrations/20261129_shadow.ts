import type { Knex } from 'knex';

/**
 * Shadow traffic results (issue 5): per route + endpoint counters, per-field difference
 * statistics, mismatch signatures (for the noise-adjusted match rate) and retained samples.
 * Loaded through the shadow recorder's knex migrationSource (src/shadow/record/shadow-migrations.ts),
 * so it runs the same from TypeScript tests and compiled JavaScript.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('shadow_endpoints', (t) => {
    t.text('route').notNullable();
    t.text('endpoint').notNullable();
    t.text('primary_label').notNullable();
    t.text('candidate_label').notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['route', 'endpoint']);
  });
  await knex.schema.createTable('shadow_counters', (t) => {
    t.text('route').notNullable();
    t.text('endpoint').notNullable();
    t.text('name').notNullable();
    t.bigInteger('value').notNullable().defaultTo(0);
    t.primary(['route', 'endpoint', 'name']);
  });
  await knex.schema.createTable('shadow_fields', (t) => {
    t.text('route').notNullable();
    t.text('endpoint').notNullable();
    t.text('field').notNullable();
    t.bigInteger('candidate_diffs').notNullable().defaultTo(0);
    t.bigInteger('secondary_diffs').notNullable().defaultTo(0);
    t.jsonb('example');
    t.jsonb('secondary_example');
    t.primary(['route', 'endpoint', 'field']);
  });
  await knex.schema.createTable('shadow_signatures', (t) => {
    t.text('route').notNullable();
    t.text('endpoint').notNullable();
    t.text('signature').notNullable();
    t.jsonb('fields').notNullable();
    t.bigInteger('count').notNullable().defaultTo(0);
    t.primary(['route', 'endpoint', 'signature']);
  });
  await knex.schema.createTable('shadow_samples', (t) => {
    t.bigIncrements('id').primary();
    t.text('route').notNullable();
    t.text('endpoint').notNullable();
    t.timestamp('recorded_at', { useTz: true }).notNullable();
    t.jsonb('request').notNullable();
    t.jsonb('primary_response').notNullable();
    t.jsonb('candidate_response').notNullable();
    t.jsonb('diffs').notNullable();
    t.index(['route', 'endpoint', 'id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const t of ['shadow_samples', 'shadow_signatures', 'shadow_fields', 'shadow_counters', 'shadow_endpoints']) {
    await knex.schema.dropTableIfExists(t);
  }
}
