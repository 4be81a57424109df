import { applySchema, createPgPool } from '../shared/pg-pool.js';

/**
 * The monolith's one database: `users` and `orders`. The CDC side replicates `users` from here to
 * the users service, so the column names and types below are part of the demo's contract.
 * `orders.id` and `orders.created_at` have no defaults on purpose (the monolith's code fills them).
 */
export const LEGACY_SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email text UNIQUE NOT NULL,
  name text,
  created_at timestamptz DEFAULT now()
);
CREATE TABLE IF NOT EXISTS orders (
  id uuid PRIMARY KEY,
  user_id uuid REFERENCES users (id),
  total numeric(10,2),
  status text,
  created_at timestamptz
);
CREATE INDEX IF NOT EXISTS orders_user_id_idx ON orders (user_id);
`;

/** Any constant works; it only keeps two processes starting at once from racing on CREATE TABLE. */
const SCHEMA_LOCK_KEY = 7_300_101;

/** Creates the tables if they are missing; safe to call from several processes at once. */
export async function ensureLegacySchema(databaseUrl: string): Promise<void> {
  const pool = createPgPool(databaseUrl, { max: 1 });
  try {
    await applySchema(pool, LEGACY_SCHEMA_SQL, SCHEMA_LOCK_KEY);
  } finally {
    await pool.end();
  }
}
