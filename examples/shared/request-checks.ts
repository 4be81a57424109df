import type { ProblemDetail } from './json-envelope.js';

/**
 * Input checks shared by both apps. Each check appends to a problem list instead of throwing, so a
 * request with three mistakes gets one 400 naming all three.
 */
export type Problems = ProblemDetail[];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/** Path ids are checked before they reach SQL, so a bad id is a 400 and not a Postgres cast error. */
export function checkUuid(value: unknown, path: string, problems: Problems): string | null {
  if (isUuid(value)) return value.toLowerCase();
  problems.push({ path, message: `must be a UUID like 0b6f3c4e-8a1d-4c2b-9f3e-1a2b3c4d5e6f, got ${JSON.stringify(value)}` });
  return null;
}

export const DEFAULT_PAGE_LIMIT = 50;
export const MAX_PAGE_LIMIT = 500;

export interface Page {
  readonly limit: number;
  readonly offset: number;
}

function checkInt(raw: string, path: string, min: number, max: number, problems: Problems): number | null {
  if (!/^\d+$/.test(raw)) {
    problems.push({ path, message: `must be a whole number between ${min} and ${max}, got ${JSON.stringify(raw)}` });
    return null;
  }
  const n = Number(raw);
  if (n < min || n > max) {
    problems.push({ path, message: `must be between ${min} and ${max}, got ${n}` });
    return null;
  }
  return n;
}

/**
 * Reads `limit`/`offset` and the named filters from a query string. Unknown parameters are refused:
 * `?userId=` silently returning every order is the kind of bug these apps should not teach.
 */
export function checkListQuery(query: unknown, filters: readonly string[], problems: Problems): { page: Page; filters: Record<string, string> } {
  const allowed = ['limit', 'offset', ...filters];
  const q = (query ?? {}) as Record<string, unknown>;
  const single: Record<string, string> = {};
  for (const [key, value] of Object.entries(q)) {
    if (!allowed.includes(key)) {
      problems.push({ path: `query.${key}`, message: `unknown query parameter (allowed: ${allowed.join(', ')})` });
    } else if (typeof value !== 'string') {
      problems.push({ path: `query.${key}`, message: 'must be given once, as a plain value' });
    } else {
      single[key] = value;
    }
  }
  const limit = single.limit === undefined ? DEFAULT_PAGE_LIMIT : checkInt(single.limit, 'query.limit', 1, MAX_PAGE_LIMIT, problems);
  const offset = single.offset === undefined ? 0 : checkInt(single.offset, 'query.offset', 0, 1_000_000_000, problems);
  const chosen: Record<string, string> = {};
  for (const f of filters) if (single[f] !== undefined) chosen[f] = single[f];
  return { page: { limit: limit ?? DEFAULT_PAGE_LIMIT, offset: offset ?? 0 }, filters: chosen };
}

/**
 * The body must be a JSON object with only the given fields. Read-only fields (`id`, `created_at`)
 * count as unknown, and the message says which fields are accepted.
 */
export function checkBodyObject(body: unknown, fields: readonly string[], problems: Problems): Record<string, unknown> | null {
  if (body === undefined) {
    problems.push({ path: 'body', message: 'a JSON object is required (send Content-Type: application/json)' });
    return null;
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    problems.push({ path: 'body', message: `must be a JSON object, got ${Array.isArray(body) ? 'an array' : JSON.stringify(body)}` });
    return null;
  }
  const obj = body as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!fields.includes(key)) problems.push({ path: `body.${key}`, message: `unknown or read-only field (accepted: ${fields.join(', ')})` });
  }
  return obj;
}
