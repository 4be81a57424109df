import { Router } from 'express';
import type pg from 'pg';
import { sendData, sendError, sendValidationError } from '../shared/json-envelope.js';
import { PG_FOREIGN_KEY_VIOLATION, pgErrorCode } from '../shared/pg-pool.js';
import type { Problems } from '../shared/request-checks.js';
import { checkBodyObject, checkListQuery, checkUuid } from '../shared/request-checks.js';
import { Assignments } from '../shared/update-assignments.js';
import { ORDER_STATUSES } from './seed.js';

/**
 * /api/orders on the monolith. An order is `{ id, user_id, total, status, created_at }`; `total` is
 * a string with two decimals ("12.30"), as numeric(10,2) prints it, so money never passes through
 * a float on the way out.
 */
const ORDER_COLUMNS = 'id, user_id, total, status, created_at';
const WRITABLE = ['user_id', 'total', 'status'] as const;
const MONEY = /^\d{1,8}(\.\d{1,2})?$/;

function checkTotal(value: unknown, problems: Problems): string | null {
  const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
  if (typeof text !== 'string' || !MONEY.test(text)) {
    problems.push({ path: 'body.total', message: `must be a non-negative amount below 100000000 with at most 2 decimals (number or string), got ${JSON.stringify(value)}` });
    return null;
  }
  return text;
}

function checkStatus(value: unknown, problems: Problems): string | null {
  if (typeof value !== 'string' || !(ORDER_STATUSES as readonly string[]).includes(value)) {
    problems.push({ path: 'body.status', message: `must be one of ${ORDER_STATUSES.join(', ')}, got ${JSON.stringify(value)}` });
    return null;
  }
  return value;
}

export function legacyOrdersRouter(pool: pg.Pool): Router {
  const router = Router();

  // GET /api/orders?user_id=<uuid> narrows to one user's orders.
  router.get('/', async (req, res) => {
    const problems: Problems = [];
    const { page, filters } = checkListQuery(req.query, ['user_id'], problems);
    const userId = filters.user_id === undefined ? null : checkUuid(filters.user_id, 'query.user_id', problems);
    if (problems.length > 0) return sendValidationError(res, problems);
    const r =
      userId === null
        ? await pool.query(`SELECT ${ORDER_COLUMNS} FROM orders ORDER BY created_at, id LIMIT $1 OFFSET $2`, [page.limit, page.offset])
        : await pool.query(`SELECT ${ORDER_COLUMNS} FROM orders WHERE user_id = $3 ORDER BY created_at, id LIMIT $1 OFFSET $2`, [page.limit, page.offset, userId]);
    sendData(res, 200, r.rows);
  });

  router.get('/:id', async (req, res) => {
    const problems: Problems = [];
    const id = checkUuid(req.params.id, 'params.id', problems);
    if (id === null) return sendValidationError(res, problems);
    const r = await pool.query(`SELECT ${ORDER_COLUMNS} FROM orders WHERE id = $1`, [id]);
    if (r.rows.length === 0) return sendError(res, 404, 'ORDER_NOT_FOUND', `no order with id ${id}`);
    sendData(res, 200, r.rows[0]);
  });

  router.post('/', async (req, res) => {
    const problems: Problems = [];
    const body = checkBodyObject(req.body, WRITABLE, problems);
    if (body) {
      if (!('user_id' in body)) problems.push({ path: 'body.user_id', message: 'is required' });
      if (!('total' in body)) problems.push({ path: 'body.total', message: 'is required' });
    }
    const userId = body && 'user_id' in body ? checkUuid(body.user_id, 'body.user_id', problems) : null;
    const total = body && 'total' in body ? checkTotal(body.total, problems) : null;
    const status = body && 'status' in body ? checkStatus(body.status, problems) : 'pending';
    if (problems.length > 0) return sendValidationError(res, problems);
    try {
      const r = await pool.query(
        `INSERT INTO orders (id, user_id, total, status, created_at) VALUES (gen_random_uuid(), $1, $2, $3, now()) RETURNING ${ORDER_COLUMNS}`,
        [userId, total, status],
      );
      res.setHeader('location', `/api/orders/${r.rows[0].id}`);
      sendData(res, 201, r.rows[0]);
    } catch (err) {
      if (pgErrorCode(err) !== PG_FOREIGN_KEY_VIOLATION) throw err;
      sendValidationError(res, [{ path: 'body.user_id', message: `no user with id ${userId}` }]);
    }
  });

  // PUT changes the fields it is given (at least one of user_id, total, status).
  router.put('/:id', async (req, res) => {
    const problems: Problems = [];
    const id = checkUuid(req.params.id, 'params.id', problems);
    const body = checkBodyObject(req.body, WRITABLE, problems);
    const update = new Assignments();
    let userId: string | null = null;
    if (body) {
      if ('user_id' in body) {
        userId = checkUuid(body.user_id, 'body.user_id', problems);
        update.set('user_id', userId);
      }
      if ('total' in body) update.set('total', checkTotal(body.total, problems));
      if ('status' in body) update.set('status', checkStatus(body.status, problems));
      update.requireOne(WRITABLE, problems);
    }
    if (problems.length > 0 || id === null) return sendValidationError(res, problems);
    try {
      const r = await pool.query(update.updateById('orders', id, ORDER_COLUMNS));
      if (r.rows.length === 0) return sendError(res, 404, 'ORDER_NOT_FOUND', `no order with id ${id}`);
      sendData(res, 200, r.rows[0]);
    } catch (err) {
      if (pgErrorCode(err) !== PG_FOREIGN_KEY_VIOLATION) throw err;
      sendValidationError(res, [{ path: 'body.user_id', message: `no user with id ${userId}` }]);
    }
  });

  router.delete('/:id', async (req, res) => {
    const problems: Problems = [];
    const id = checkUuid(req.params.id, 'params.id', problems);
    if (id === null) return sendValidationError(res, problems);
    const r = await pool.query(`DELETE FROM orders WHERE id = $1 RETURNING ${ORDER_COLUMNS}`, [id]);
    if (r.rows.length === 0) return sendError(res, 404, 'ORDER_NOT_FOUND', `no order with id ${id}`);
    sendData(res, 200, r.rows[0]);
  });

  return router;
}
