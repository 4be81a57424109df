import { randomUUID } from 'node:crypto';
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';

/**
 * Every response of both example apps, success or error, is an envelope that carries honest
 * non-determinism: a fresh `request_id` (also sent as the `x-request-id` header) and the
 * `server_time` at which the body was built. Shadow comparison has to learn to ignore those two
 * fields, exactly as it would with a real service.
 *
 *   { "data": ..., "request_id": "...", "server_time": "..." }
 *   { "error": { "code": "...", "message": "...", "details": [...] }, "request_id": "...", "server_time": "..." }
 *
 * The id is always generated here, never copied from an incoming `x-request-id`: the apps play
 * services that mint their own ids, so the monolith and the extracted service disagree on it.
 */
export interface EnvelopeDeps {
  /** Wall clock for `server_time`. */
  readonly now: () => Date;
  /** Id generator for `request_id`. */
  readonly newRequestId: () => string;
}

export const defaultEnvelopeDeps: EnvelopeDeps = { now: () => new Date(), newRequestId: () => randomUUID() };

export interface ProblemDetail {
  /** Where the problem is, e.g. `body.email` or `query.limit`. */
  readonly path: string;
  readonly message: string;
}

interface EnvelopeState {
  readonly requestId: string;
  readonly now: () => Date;
}

const STATE_KEY = 'exampleEnvelope';

function stateOf(res: Response): EnvelopeState {
  const state = res.locals[STATE_KEY] as EnvelopeState | undefined;
  // A handler answering before requestContext ran is a wiring bug in the app, not a request problem.
  if (!state) throw new Error('requestContext() middleware must run before any handler that answers');
  return state;
}

/** First middleware of each app: mints the request id and sends it as `x-request-id`. */
export function requestContext(deps: EnvelopeDeps = defaultEnvelopeDeps): RequestHandler {
  return (_req, res, next) => {
    const requestId = deps.newRequestId();
    res.locals[STATE_KEY] = { requestId, now: deps.now } satisfies EnvelopeState;
    res.setHeader('x-request-id', requestId);
    next();
  };
}

export function sendData(res: Response, status: number, data: unknown): void {
  const { requestId, now } = stateOf(res);
  res.status(status).json({ data, request_id: requestId, server_time: now().toISOString() });
}

export function sendError(res: Response, status: number, code: string, message: string, details: readonly ProblemDetail[] = []): void {
  const { requestId, now } = stateOf(res);
  const error = details.length > 0 ? { code, message, details } : { code, message };
  res.status(status).json({ error, request_id: requestId, server_time: now().toISOString() });
}

/** A 400 listing every problem found, not just the first. */
export function sendValidationError(res: Response, problems: readonly ProblemDetail[]): void {
  const message = problems.map((p) => `${p.path}: ${p.message}`).join('; ');
  sendError(res, 400, 'VALIDATION_FAILED', message, problems);
}

/** Last route of each app: any method and path nobody handled. */
export const notFoundRoute: RequestHandler = (req, res) => {
  sendError(res, 404, 'ROUTE_NOT_FOUND', `no route for ${req.method} ${req.path}`);
};

/**
 * The error handler: body-parser failures are the client's fault and say so; anything else is a
 * bug or an outage, answered with a 500 that carries the request id to find the log line.
 */
export function errorHandler(onError: (err: unknown, requestId: string) => void = logUnexpected): ErrorRequestHandler {
  return (err: unknown, _req, res, _next) => {
    const status = (err as { status?: unknown } | null)?.status;
    const type = (err as { type?: unknown } | null)?.type;
    if (type === 'entity.parse.failed') {
      sendError(res, 400, 'BODY_NOT_JSON', `request body is not valid JSON: ${(err as Error).message}`);
      return;
    }
    if (type === 'entity.too.large') {
      sendError(res, 413, 'BODY_TOO_LARGE', `request body is larger than the ${(err as { limit?: number }).limit ?? '?'} byte limit`);
      return;
    }
    if (typeof status === 'number' && status >= 400 && status < 500) {
      sendError(res, status, 'BAD_REQUEST', (err as Error).message);
      return;
    }
    const requestId = (res.locals[STATE_KEY] as EnvelopeState | undefined)?.requestId ?? 'unknown';
    onError(err, requestId);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendError(res, 500, 'INTERNAL', `internal error; see the server log for request ${requestId}`);
  };
}

function logUnexpected(err: unknown, requestId: string): void {
  console.error(`[example] request ${requestId} failed:`, err);
}
