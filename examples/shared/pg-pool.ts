import pg from 'pg';

/**
 * One way to open a Postgres pool for both example apps. An idle client that errors (the server
 * restarted, the database was dropped under us) emits 'error' on the pool; without a listener that
 * would crash the process, so we report it and let the pool replace the client.
 */
export function createPgPool(databaseUrl: string, options: { max?: number; onError?: (err: Error) => void } = {}): pg.Pool {
  if (typeof databaseUrl !== 'string' || databaseUrl.trim() === '') {
    throw new Error('databaseUrl is required (e.g. postgres://postgres@127.0.0.1:5432/legacy)');
  }
  const pool = new pg.Pool({ connectionString: databaseUrl, max: options.max ?? 10 });
  const onError = options.onError ?? ((err: Error) => console.error(`[pg] idle client error: ${err.message}`));
  pool.on('error', onError);
  return pool;
}

/** Postgres SQLSTATE codes the example apps turn into HTTP answers. */
export const PG_UNIQUE_VIOLATION = '23505';
export const PG_FOREIGN_KEY_VIOLATION = '23503';

export function pgErrorCode(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : null;
}

/** Runs `fn` inside one transaction on a dedicated client; rolls back on any throw. */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/**
 * Runs idempotent DDL under a transaction-scoped advisory lock, so two processes starting at once
 * (docker-compose, parallel tests) do not race on CREATE TABLE IF NOT EXISTS.
 */
export async function applySchema(pool: pg.Pool, sql: string, lockKey: number): Promise<void> {
  await withTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [lockKey]);
    await client.query(sql);
  });
}
