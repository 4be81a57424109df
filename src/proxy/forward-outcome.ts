import type { ErrorCode } from '../errors.js';

/**
 * How an exchange with an upstream ended. Expected failures are values that metrics, logs and
 * fallbacks switch on; a thrown exception is a bug.
 */
export type ForwardOutcome =
  | 'ok'
  | 'connect-refused'
  | 'connect-timeout'
  | 'headers-timeout'
  | 'body-timeout'
  | 'upstream-reset'
  | 'unreachable'
  | 'client-aborted';

export const OUTCOME_ERROR: Readonly<Record<Exclude<ForwardOutcome, 'ok' | 'client-aborted'>, ErrorCode>> = {
  'connect-refused': 'FICUS_ERR_UPSTREAM_REFUSED',
  'connect-timeout': 'FICUS_ERR_UPSTREAM_TIMEOUT',
  'headers-timeout': 'FICUS_ERR_UPSTREAM_TIMEOUT',
  'body-timeout': 'FICUS_ERR_UPSTREAM_TIMEOUT',
  'upstream-reset': 'FICUS_ERR_UPSTREAM_RESET',
  unreachable: 'FICUS_ERR_UPSTREAM_UNREACHABLE',
};

/** Maps an undici / socket error to an outcome (undici's UND_ERR_* codes are stable). */
export function classifyUpstreamError(err: unknown, clientGone: boolean): ForwardOutcome {
  if (clientGone) return 'client-aborted';
  const code = (err as { code?: string } | null)?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connect-refused';
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return 'connect-timeout';
    case 'UND_ERR_HEADERS_TIMEOUT':
      return 'headers-timeout';
    case 'UND_ERR_BODY_TIMEOUT':
      return 'body-timeout';
    case 'UND_ERR_SOCKET':
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_CLOSED':
      return 'upstream-reset';
    case 'UND_ERR_ABORTED':
    case 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH':
    case 'ABORT_ERR':
      return 'client-aborted';
    default:
      return 'unreachable';
  }
}
