import { Router } from 'express';
import type pg from 'pg';
import { sendData, sendError, sendValidationError } from '../shared/json-envelope.js';
import { PG_FOREIGN_KEY_VIOLATION, PG_UNIQUE_VIOLATION, pgErrorCode } from '../shared/pg-pool.js';
import type { Problems } from '../shared/request-checks.js';
import { checkBodyObject, checkListQuery, checkUuid } from '../shared/request-checks.js';
import { Assignments } from '../shared/update-assignments.js';

/**
 * /api/users on the monolith: full CRUD over `users`. A user is `{ id, email, name, created_at }`;
 * the email keeps the case it was written with.
 */
const USER_COLUMNS = 'id, email, name, created_at';
const WRITABLE = ['email', 'name'] as const;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function checkEmail(value: unknown, problems: Problems): string | null {
  if (typeof value !== 'string' || value.length > 254 || !EMAIL.test(value)) {
    problems.push({ path: 'body.email', message: `must be an email address like ada@example.com (at most 254 characters), got ${JSON.stringify(value)}` });
    return null;
  }
  return value;
}

function checkName(value: unknown, problems: Problems): string | null {
  if (value === null) return null;
  if (typeof value !== 'string' || value.length > 200) {
    problems.push({ path: 'body.name', message: `must be a string of at most 200 characters or null, got ${JSON.stringify(value)}` });
  }
  return typeof value === 'string' ? value : null;
}

export function legacyUsersRouter(pool: pg.Pool): Router {
  const router = Router();

  router.get('/', async (req, res) => {
    const problems: Problems = [];
    const { page } = checkListQuery(req.query, [], problems);
    if (problems.length > 0) return sendValidationError(res, problems);
    const r = await pool.query(`SELECT ${USER_COLUMNS} FROM users ORDER BY created_at, id LIMIT $1 OFFSET $2`, [page.limit, page.offset]);
    sendData(res, 200, r.rows);
  });

  router.get('/:id', async (req, res) => {
    const problems: Problems = [];
    const id = checkUuid(req.params.id, 'params.id', problems);
    if (id === null) return sendValidationError(res, problems);
    const r = await pool.query(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, [id]);
    if (r.rows.length === 0) return sendError(res, 404, 'USER_NOT_FOUND', `no user with id ${id}`);
    sendData(res, 200, r.rows[0]);
  });

  router.post('/', async (req, res) => {
    const problems: Problems = [];
    const body = checkBodyObject(req.body, WRITABLE, problems);
    const email = body ? checkEmail(body.email, problems) : null;
    const name = body && 'name' in body ? checkName(body.name, problems) : null;
    if (problems.length > 0 || email === null) return sendValidationError(res, problems);
    try {
      const r = await pool.query(`INSERT INTO users (email, name) VALUES ($1, $2) RETURNING ${USER_COLUMNS}`, [email, name]);
      res.setHeader('location', `/api/users/${r.rows[0].id}`);
      sendData(res, 201, r.rows[0]);
    } catch (err) {
      if (pgErrorCode(err) !== PG_UNIQUE_VIOLATION) throw err;
      sendError(res, 409, 'EMAIL_TAKEN', `a user with email ${email} already exists`);
    }
  });

  // PUT changes the fields it is given (at least one of email, name); the others keep their value.
  router.put('/:id', async (req, res) => {
    const problems: Problems = [];
    const id = checkUuid(req.params.id, 'params.id', problems);
    const body = checkBodyObject(req.body, WRITABLE, problems);
    const update = new Assignments();
    if (body) {
      if ('email' in body) update.set('email', checkEmail(body.email, problems));
      if ('name' in body) update.set('name', checkName(body.name, problems));
      update.requireOne(WRITABLE, problems);
    }
    if (problems.length > 0 || id === null) return sendValidationError(res, problems);
    try {
      const r = await pool.query(update.updateById('users', id, USER_COLUMNS));
      if (r.rows.length === 0) return sendError(res, 404, 'USER_NOT_FOUND', `no user with id ${id}`);
      sendData(res, 200, r.rows[0]);
    } catch (err) {
      if (pgErrorCode(err) !== PG_UNIQUE_VIOLATION) throw err;
      sendError(res, 409, 'EMAIL_TAKEN', `a user with email ${String(body?.email)} already exists`);
    }
  });

  // A user with orders cannot be deleted (orders.user_id has no ON DELETE rule): 409, naming the count.
  router.delete('/:id', async (req, res) => {
    const problems: Problems = [];
    const id = checkUuid(req.params.id, 'params.id', problems);
    if (id === null) return sendValidationError(res, problems);
    try {
      const r = await pool.query(`DELETE FROM users WHERE id = $1 RETURNING ${USER_COLUMNS}`, [id]);
      if (r.rows.length === 0) return sendError(res, 404, 'USER_NOT_FOUND', `no user with id ${id}`);
      sendData(res, 200, r.rows[0]);
    } catch (err) {
      if (pgErrorCode(err) !== PG_FOREIGN_KEY_VIOLATION) throw err;
      const c = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM orders WHERE user_id = $1', [id]);
      sendError(res, 409, 'USER_HAS_ORDERS', `user ${id} still has ${c.rows[0].n} order(s); delete them first`);
    }
  });

  return router;
}
