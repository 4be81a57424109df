import type { IdSource } from './id-source.js';

/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): `traceparent` is
 * `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`. Ficus continues an incoming trace (new
 * span id for its hop) or starts one, and sends its own span as the parent to the upstream.
 */
export interface TraceContext {
  readonly traceId: string;
  readonly spanId: string;
  readonly flags: string;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZERO_TRACE = '00000000000000000000000000000000';

export function continueTrace(header: string | string[] | undefined, ids: IdSource): TraceContext {
  if (typeof header === 'string') {
    const m = TRACEPARENT.exec(header.trim());
    if (m && m[1] !== ZERO_TRACE && m[2] !== '0000000000000000') return { traceId: m[1], spanId: ids.spanId(), flags: m[3] };
  }
  return { traceId: ids.traceId(), spanId: ids.spanId(), flags: '01' };
}

export function formatTraceparent(t: TraceContext): string {
  return `00-${t.traceId}-${t.spanId}-${t.flags}`;
}
