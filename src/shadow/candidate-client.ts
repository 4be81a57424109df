import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import type { ResponseCopy } from './compare/compare-responses.js';
import type { CandidateFailure } from './record/shadow-record.js';
import type { ShadowPolicy } from './shadow-policy.js';

export const SHADOW_HEADER = 'x-ficus-shadow';

/**
 * RFC 9110 §7.6.1 hop-by-hop fields, plus fields undici must compute for the new connection
 * (host, content-length) and `expect` (a copy never waits for 100-continue).
 */
const NOT_COPIED = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'proxy-authorization', 'proxy-authenticate', 'host', 'content-length', 'expect', 'http2-settings',
]);

/** The headers a shadow copy carries: hop-by-hop removed, credentials only when configured, marked. */
export function shadowRequestHeaders(headers: IncomingHttpHeaders, policy: ShadowPolicy): Record<string, string | string[]> {
  const dropAlso = new Set<string>();
  const conn = headers.connection;
  if (conn) for (const name of String(conn).split(',')) dropAlso.add(name.trim().toLowerCase());
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    if (NOT_COPIED.has(lower) || dropAlso.has(lower)) continue;
    if (lower === 'cookie' && !policy.forwardCookies) continue;
    if (lower === 'authorization' && !policy.forwardAuthorization) continue;
    if (lower === SHADOW_HEADER) continue;
    out[lower] = value;
  }
  out[SHADOW_HEADER] = '1';
  return out;
}

export interface CopyRequest {
  readonly origin: string;
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer | null;
}

export type CallResult =
  | { readonly ok: true; readonly response: ResponseCopy }
  | { readonly ok: false; readonly kind: 'failure'; readonly reason: CandidateFailure }
  | { readonly ok: false; readonly kind: 'too-large' };

/**
 * Sends one copy and reads the answer bounded to maxBodyBytes, within policy.timeoutMs overall
 * (headersTimeout/bodyTimeout bound the gaps; the timer bounds a candidate that trickles).
 * Never throws: every expected failure (timeout, refused, reset) comes back as a value.
 * `cancel` registers the abort function so shutdown can stop calls in flight. One controller
 * and one timer per call: cheaper than AbortSignal.timeout + AbortSignal.any, and no listener
 * piles up on a shared signal.
 */
export async function callCopy(dispatcher: Dispatcher, req: CopyRequest, policy: ShadowPolicy, cancel?: Set<AbortController>): Promise<CallResult> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new DOMException('shadow copy timed out', 'TimeoutError')), policy.timeoutMs);
  cancel?.add(ac);
  const signal = ac.signal;
  try {
    // origin + path as given: never URL-resolve the path (a `//other-host/x` path must not
    // send the copy to another host).
    const res = await dispatcher.request({
      origin: req.origin,
      path: req.path,
      method: req.method as Dispatcher.HttpMethod,
      headers: req.headers,
      body: req.body,
      signal,
      headersTimeout: policy.timeoutMs,
      bodyTimeout: policy.timeoutMs,
    });
    const declared = Number(res.headers['content-length'] ?? -1);
    if (declared > policy.maxBodyBytes) {
      discard(res.body);
      return { ok: false, kind: 'too-large' };
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      const b = chunk as Buffer;
      size += b.length;
      if (size > policy.maxBodyBytes) {
        discard(res.body);
        return { ok: false, kind: 'too-large' };
      }
      chunks.push(b);
    }
    return { ok: true, response: { status: res.statusCode, headers: res.headers as IncomingHttpHeaders, body: Buffer.concat(chunks, size) } };
  } catch (err) {
    return { ok: false, kind: 'failure', reason: classifyFailure(err) };
  } finally {
    clearTimeout(timer);
    cancel?.delete(ac);
  }
}

/** Stops reading a body we will not use; destroying it emits an abort error nobody else listens to. */
function discard(body: NodeJS.ReadableStream & { destroy(): void }): void {
  body.on('error', () => {});
  body.destroy();
}

function codesOf(err: unknown): string[] {
  const out: string[] = [];
  const seen = new Set<unknown>();
  const visit = (e: unknown) => {
    if (e === null || typeof e !== 'object' || seen.has(e)) return;
    seen.add(e);
    const x = e as { code?: unknown; name?: unknown; cause?: unknown; errors?: unknown };
    if (typeof x.code === 'string') out.push(x.code);
    if (typeof x.name === 'string') out.push(x.name);
    visit(x.cause);
    if (Array.isArray(x.errors)) x.errors.forEach(visit);
  };
  visit(err);
  return out;
}

/** undici's typed error codes (and Node's errno codes underneath) → the shadow failure kinds. */
export function classifyFailure(err: unknown): CandidateFailure {
  const codes = codesOf(err);
  const has = (...c: string[]) => c.some((x) => codes.includes(x));
  if (has('TimeoutError', 'AbortError', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_ABORTED', 'ETIMEDOUT')) return 'timeout';
  if (has('ECONNREFUSED')) return 'refused';
  if (has('UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'UND_ERR_CLOSED')) return 'reset';
  return 'unreachable';
}
