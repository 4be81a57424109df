import type { Request, Response } from 'express';
import { Router } from 'express';
import type pg from 'pg';
import { sendData, sendError, sendValidationError } from '../shared/json-envelope.js';
import type { Problems } from '../shared/request-checks.js';
import { checkUuid } from '../shared/request-checks.js';

/**
 * Per-user order reports, in two versions so path-rewrite rules have something to move between:
 * `GET /reports/:id` (v1: count and total) and `GET /v2/reports/:id` (v2 adds a per-status
 * breakdown). `:id` is a user id; every body says which version answered.
 */
interface StatusRow {
  status: string | null;
  orders: number;
  total: string;
}

async function loadReport(pool: pg.Pool, userId: string): Promise<StatusRow[] | null> {
  const user = await pool.query('SELECT 1 FROM users WHERE id = $1', [userId]);
  if (user.rows.length === 0) return null;
  const r = await pool.query<StatusRow>(
    `SELECT status, count(*)::int AS orders, COALESCE(sum(total), 0)::numeric(12,2)::text AS total
       FROM orders WHERE user_id = $1 GROUP BY status ORDER BY status`,
    [userId],
  );
  return r.rows;
}

function sumTotals(rows: readonly StatusRow[]): string {
  // Sum in cents: the totals are exact two-decimal strings and must stay exact.
  const cents = rows.reduce((acc, r) => acc + BigInt(r.total.replace('.', '')), 0n);
  const s = cents.toString().padStart(3, '0');
  return `${s.slice(0, -2)}.${s.slice(-2)}`;
}

export function legacyReportsRouter(pool: pg.Pool): Router {
  const router = Router();

  const answer = (version: 1 | 2) =>
    async function report(req: Request, res: Response): Promise<void> {
      const problems: Problems = [];
      const id = checkUuid(req.params.id, 'params.id', problems);
      if (id === null) return sendValidationError(res, problems);
      const rows = await loadReport(pool, id);
      if (rows === null) return sendError(res, 404, 'USER_NOT_FOUND', `no user with id ${id}`);
      const summary = { report: 'user-orders', version, user_id: id, order_count: rows.reduce((n, r) => n + r.orders, 0), total_spent: sumTotals(rows) };
      if (version === 1) return sendData(res, 200, summary);
      const byStatus = Object.fromEntries(rows.map((r) => [r.status ?? 'unknown', { orders: r.orders, total: r.total }]));
      sendData(res, 200, { ...summary, by_status: byStatus });
    };

  router.get('/reports/:id', answer(1));
  router.get('/v2/reports/:id', answer(2));
  return router;
}
