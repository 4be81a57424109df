import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import type { ResponseCopy } from './compare/compare-responses.js';
import { headersOf } from './raw-headers.js';
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
  // Fields the Connection header names are hop-by-hop too; most requests name none.
  const conn = headers.connection;
  const dropAlso = conn ? new Set(String(conn).split(',').map((name) => name.trim().toLowerCase())) : null;
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    if (NOT_COPIED.has(lower) || (dropAlso !== null && dropAlso.has(lower))) continue;
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

/** A copy in flight that shutdown can stop; it then resolves as a `timeout` failure. */
export interface InflightCopy {
  abort(): void;
}

/**
 * Sends one copy and reads the answer bounded to maxBodyBytes, within policy.timeoutMs overall
 * (headersTimeout/bodyTimeout bound the gaps; the timer bounds a candidate that trickles).
 * Never throws: every expected failure (timeout, refused, reset) comes back as a value.
 * `inflight` holds the call while it runs, so shutdown can abort it.
 *
 * It goes through undici's dispatch API with one handler object per copy, not `request()`: that
 * builds an AbortSignal, a body Readable and an async iterator per call, which on the benchmark
 * made a copy cost ~1.6x the CPU of this path (see README "Performance").
 */
export function callCopy(dispatcher: Dispatcher, req: CopyRequest, policy: ShadowPolicy, inflight?: Set<InflightCopy>): Promise<CallResult> {
  const call = new CopyCall(policy.maxBodyBytes, inflight ?? null);
  call.arm(policy.timeoutMs);
  try {
    // origin + path as given: never URL-resolve the path (a `//other-host/x` path must not
    // send the copy to another host).
    dispatcher.dispatch(
      {
        origin: req.origin,
        path: req.path,
        method: req.method as Dispatcher.HttpMethod,
        headers: req.headers,
        body: req.body,
        headersTimeout: policy.timeoutMs,
        bodyTimeout: policy.timeoutMs,
      },
      call,
    );
  } catch (err) {
    call.onError(err as Error);
  }
  return call.result;
}

function onCopyTimeout(call: CopyCall): void {
  call.fail('timeout');
}

const TOO_LARGE: CallResult = { ok: false, kind: 'too-large' };

/**
 * One copy's undici handler (the legacy handler interface, as ProxyExchange): collects the
 * answer's status, headers and body chunks, and settles `result` exactly once — with the answer,
 * `too-large` (the request is then aborted, as nothing more will be read), or a failure.
 */
class CopyCall implements Dispatcher.DispatchHandler, InflightCopy {
  readonly result: Promise<CallResult>;
  private resolve: (r: CallResult) => void = () => {};
  private abortRequest: ((err?: Error) => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private settled = false;
  private status = 0;
  private headers: IncomingHttpHeaders = {};
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly inflight: Set<InflightCopy> | null,
  ) {
    this.result = new Promise<CallResult>((resolve) => (this.resolve = resolve));
    inflight?.add(this);
  }

  arm(timeoutMs: number): void {
    this.timer = setTimeout(onCopyTimeout, timeoutMs, this);
  }

  abort(): void {
    this.fail('timeout');
  }

  /** Settles as a failure and stops the request (now, or as soon as undici hands it a socket). */
  fail(reason: CandidateFailure): void {
    this.settle({ ok: false, kind: 'failure', reason });
    this.stop();
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.settled) abort(new DOMException('shadow copy abandoned', 'AbortError'));
    else this.abortRequest = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    if (statusCode < 200) return true; // 1xx informational responses are skipped
    this.status = statusCode;
    this.headers = headersOf(rawHeaders);
    if (Number(this.headers['content-length'] ?? -1) > this.maxBytes) return this.tooLarge();
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.size += chunk.length;
    if (this.size > this.maxBytes) return this.tooLarge();
    this.chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    // A body that arrived in one chunk is kept as it is: no copy.
    const body = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.size);
    this.settle({ ok: true, response: { status: this.status, headers: this.headers, body } });
  }

  onError(err: Error): void {
    this.settle({ ok: false, kind: 'failure', reason: classifyFailure(err) });
  }

  private tooLarge(): false {
    this.settle(TOO_LARGE);
    this.stop();
    return false;
  }

  private stop(): void {
    const abort = this.abortRequest;
    this.abortRequest = null;
    abort?.(new DOMException('shadow copy abandoned', 'AbortError'));
  }

  private settle(r: CallResult): void {
    if (this.settled) return;
    this.settled = true;
    this.chunks = [];
    if (this.timer !== null) clearTimeout(this.timer);
    this.inflight?.delete(this);
    this.resolve(r);
  }
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
