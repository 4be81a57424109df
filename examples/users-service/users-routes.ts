import { Router } from 'express';
import type pg from 'pg';
import { sendData, sendError, sendValidationError } from '../shared/json-envelope.js';
import type { Problems } from '../shared/request-checks.js';
import { checkListQuery, checkUuid } from '../shared/request-checks.js';

/**
 * /api/users on the users service: the monolith's read API over the service's own table.
 * A user is `{ id, email, created_at }` — the service does not own names, so there is no `name`.
 */
interface ServiceUserRow {
  id: string;
  email_address: string | null;
  created_at: Date | null;
}

// Explicit columns: the CDC sink may have added bookkeeping columns such as _ficus_lsn.
const COLUMNS = 'id, email_address, created_at';

/**
 * Translates the service's row back to the monolith's field names.
 * THE DELIBERATE DIFFERENCE: the email is lower-cased, which the monolith does not do. The shadow
 * report is expected to find it on every user whose stored email has a capital letter.
 */
export function toApiUser(row: ServiceUserRow): { id: string; email: string | null; created_at: Date | null } {
  return { id: row.id, email: row.email_address === null ? null : row.email_address.toLowerCase(), created_at: row.created_at };
}

export function serviceUsersRouter(pool: pg.Pool): Router {
  const router = Router();

  router.get('/', async (req, res) => {
    const problems: Problems = [];
    const { page } = checkListQuery(req.query, [], problems);
    if (problems.length > 0) return sendValidationError(res, problems);
    // Same order as the monolith, so the same page holds the same users on both sides.
    const r = await pool.query<ServiceUserRow>(`SELECT ${COLUMNS} FROM users ORDER BY created_at, id LIMIT $1 OFFSET $2`, [page.limit, page.offset]);
    sendData(res, 200, r.rows.map(toApiUser));
  });

  router.get('/:id', async (req, res) => {
    const problems: Problems = [];
    const id = checkUuid(req.params.id, 'params.id', problems);
    if (id === null) return sendValidationError(res, problems);
    const r = await pool.query<ServiceUserRow>(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [id]);
    if (r.rows.length === 0) return sendError(res, 404, 'USER_NOT_FOUND', `no user with id ${id}`);
    sendData(res, 200, toApiUser(r.rows[0]));
  });

  // Writes stay on the monolith at this migration stage: the service's table is a CDC replica, and a
  // write here would be overwritten by the next change from the monolith (or fork the data).
  // GET and HEAD were answered above, so everything reaching this is a write.
  router.all(['/', '/:id'], (req, res) => {
    res.setHeader('allow', 'GET, HEAD');
    sendError(res, 405, 'WRITES_GO_TO_MONOLITH', `${req.method} ${req.originalUrl} is not served here: the users service is read-only while writes still go to the monolith`);
  });

  return router;
}
