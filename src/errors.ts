/**
 * The one registry of ficus error codes. Every code is stable, documented in README.md (a unit test
 * enforces it) and carries a message template, an HTTP status where it reaches a client, and whether
 * retrying the same operation may succeed (the retrier in util/retry.ts reads that flag).
 */
export interface ErrorSpec {
  readonly message: string;
  readonly status: number | null;
  readonly retriable: boolean;
}

function spec(message: string, status: number | null = null, retriable = false): ErrorSpec {
  return { message, status, retriable };
}

export const ERRORS = {
  // configuration and rules
  FICUS_ERR_CONFIG_INVALID: spec('configuration is invalid: %s'),
  FICUS_ERR_CONFIG_READ: spec('cannot read configuration file %s'),
  FICUS_ERR_RULES_INVALID: spec('rules file is invalid: %s'),
  FICUS_ERR_RULES_NO_HISTORY: spec('no earlier rules version to roll back to: %s'),
  // the request path
  FICUS_ERR_UPSTREAM_REFUSED: spec('upstream %s refused the connection', 502, true),
  FICUS_ERR_UPSTREAM_TIMEOUT: spec('upstream %s did not answer in time', 504, true),
  FICUS_ERR_UPSTREAM_RESET: spec('upstream %s closed the connection', 502, true),
  FICUS_ERR_UPSTREAM_UNREACHABLE: spec('upstream %s cannot be reached', 502, true),
  FICUS_ERR_CIRCUIT_OPEN: spec('circuit for upstream %s is open', 503, true),
  FICUS_ERR_NO_ROUTE: spec('no route matches %s and no default upstream is set', 404),
  FICUS_ERR_BAD_REQUEST_PATH: spec('request path is not acceptable: %s', 400),
  FICUS_ERR_SHUTTING_DOWN: spec('ficus is shutting down', 503, true),
  FICUS_ERR_INTERNAL: spec('internal error: %s', 500),
  // flags
  FICUS_ERR_FLAG_UNAVAILABLE: spec('flag %s could not be evaluated'),
  FICUS_ERR_FLAG_PROVIDER_NOT_READY: spec('flag provider %s is not ready: %s', null, true),
  FICUS_ERR_FLAG_OVERRIDE_INVALID: spec('override for flag %s is invalid: %s'),
  FICUS_ERR_FLAG_OVERRIDES_UNAVAILABLE: spec('flag overrides store %s cannot be reached', null, true),
  // change data capture
  FICUS_ERR_CDC_SOURCE: spec('change data capture source failed: %s', null, true),
  FICUS_ERR_CDC_SINK: spec('sink %s failed to apply an event', null, true),
  FICUS_ERR_CDC_TRANSPORT: spec('transport %s failed: %s', null, true),
  FICUS_ERR_CDC_SINK_SCHEMA: spec('sink %s cannot write table %s: %s'),
  FICUS_ERR_CDC_TRANSPORT_CONFIG: spec('transport %s is misconfigured: %s'),
  FICUS_ERR_CDC_RECONCILE: spec('cannot reconcile %s: %s'),
  FICUS_ERR_CDC_DECODE: spec('cannot decode a change: %s'),
  // shadow traffic
  FICUS_ERR_SHADOW_RECORD: spec('shadow results could not be stored: %s', null, true),
  FICUS_ERR_CDC_CONFIG_MISMATCH: spec('CDC config does not match the databases: %s'),
  // admin / cli
  FICUS_ERR_ADMIN_UNREACHABLE: spec('admin API at %s cannot be reached', null, true),
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

function render(template: string, args: readonly unknown[]): string {
  let i = 0;
  return template.replace(/%s/g, () => (i < args.length ? String(args[i++]) : '?'));
}

export class FicusError extends Error {
  readonly code: ErrorCode;
  readonly status: number | null;
  readonly retriable: boolean;

  constructor(code: ErrorCode, args: readonly unknown[] = [], options?: { cause?: unknown }) {
    const s = ERRORS[code];
    super(render(s.message, args), options);
    this.name = 'FicusError';
    this.code = code;
    this.status = s.status;
    this.retriable = s.retriable;
  }
}

export function ficusError(code: ErrorCode, ...args: unknown[]): FicusError {
  return new FicusError(code, args);
}

export function isRetriable(err: unknown): boolean {
  if (err instanceof FicusError) return err.retriable;
  const r = (err as { retriable?: unknown } | null)?.retriable;
  return r === true;
}
