/**
 * Which database errors are worth retrying as they are: the connection, the server's state or a
 * conflict with another transaction, not the data. A data error (bad value, constraint) fails the
 * same way every time; the sink isolates the event and parks it as a dead letter instead.
 * SQLSTATE classes: https://www.postgresql.org/docs/current/errcodes-appendix.html
 */
const TRANSIENT_SQLSTATE = new Set(['40001', '40P01', '55P03', '57P01', '57P02', '57P03', '53000', '53100', '53200', '53300', '58000', '58030']);
const TRANSIENT_NODE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

export function isTransientDbError(err: unknown): boolean {
  if (err === null || typeof err !== 'object') return false;
  const e = err as { code?: unknown; name?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  if (code.startsWith('08') || TRANSIENT_SQLSTATE.has(code) || TRANSIENT_NODE.has(code)) return true;
  if (e.name === 'KnexTimeoutError') return true;
  const message = typeof e.message === 'string' ? e.message : '';
  // node-postgres reports a dropped socket without a code.
  return /Connection terminated|connection is closed|Client has encountered a connection error|terminating connection/i.test(message);
}

/**
 * SQLSTATE class 42 (undefined table or column, no matching unique constraint, insufficient
 * privilege): the sink's schema does not fit the mapping. Not the event's fault, so never parked.
 */
export function isSchemaError(err: unknown): boolean {
  const code = errorCode(err);
  return code !== null && code.startsWith('42');
}

export function errorCode(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : null;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
