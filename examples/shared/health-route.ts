import type { RequestHandler } from 'express';
import type pg from 'pg';
import { sendData, sendError } from './json-envelope.js';

/** GET /healthz: 200 when the app can reach its database, 503 otherwise. */
export function healthRoute(pool: pg.Pool, service: string): RequestHandler {
  return async (_req, res) => {
    try {
      await pool.query('SELECT 1');
      sendData(res, 200, { status: 'ok', service, database: 'up' });
    } catch (err) {
      sendError(res, 503, 'DATABASE_DOWN', `${service} cannot reach its database: ${(err as Error).message}`);
    }
  };
}
