import type { ServerResponse } from 'node:http';
import type { ErrorCode } from '../errors.js';
import { ERRORS, FicusError } from '../errors.js';

/** Sends ficus's JSON error body: `{"error":{"code","message","request_id"}}`. */
export function sendError(res: ServerResponse, code: ErrorCode, message: string, requestId: string, requestIdHeader: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const status = ERRORS[code].status ?? 500;
  const body = JSON.stringify({ error: { code, message, request_id: requestId } });
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    [requestIdHeader]: requestId,
    'x-ficus-error': code,
  });
  res.end(body);
}

export function errorMessage(code: ErrorCode, ...args: unknown[]): string {
  return new FicusError(code, args).message;
}
