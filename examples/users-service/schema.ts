import { applySchema, createPgPool } from '../shared/pg-pool.js';

/**
 * The users service's own database. Compared with the monolith's `users` the email column is
 * renamed (email → email_address) and `name` is gone: the CDC table mapping has real work to do.
 * The CDC sink may add bookkeeping columns (e.g. `_ficus_lsn`); the service never selects `*`, so
 * it does not care.
 */
export const USERS_SERVICE_SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS users (
  id uuid PRIMARY KEY,
  email_address text,
  created_at timestamptz
);
`;

const SCHEMA_LOCK_KEY = 7_300_102;

/** Creates the table if it is missing (and leaves one the CDC sink created alone). */
export async function ensureUsersServiceSchema(databaseUrl: string): Promise<void> {
  const pool = createPgPool(databaseUrl, { max: 1 });
  try {
    await applySchema(pool, USERS_SERVICE_SCHEMA_SQL, SCHEMA_LOCK_KEY);
  } finally {
    await pool.end();
  }
}
