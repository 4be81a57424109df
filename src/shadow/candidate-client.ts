import type { IncomingHttpHeaders } from 'node:http';
import type { ResponseCopy } from './compare/compare-responses.js';
import type { CopyClient } from './copy-client/copy-client.js';
import type { CopyConnection, CopyExchange } from './copy-client/copy-connection.js';
import type { InflightCopies, InflightCopy } from './inflight-copies.js';
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

/**
 * Sends one copy and reads the answer bounded to maxBodyBytes, within policy.timeoutMs overall
 * (connecting included: a candidate that trickles or hangs is cut off at the deadline).
 * Never throws: every expected failure (timeout, refused, reset) comes back as a value.
 * `inflight` holds the call while it runs, so shutdown can abort it.
 */
export function callCopy(client: CopyClient, req: CopyRequest, policy: ShadowPolicy, inflight?: InflightCopies): Promise<CallResult> {
  const call = new CopyCall(policy.maxBodyBytes, inflight ?? null);
  call.arm(policy.timeoutMs);
  // origin + path as given: never URL-resolve the path (a `//other-host/x` path must not send the
  // copy to another host).
  if (!client.send(call, req.origin, req.method, req.path, req.headers, req.body)) call.onFailure('unreachable');
  return call.result;
}

function onCopyTimeout(call: CopyCall): void {
  call.fail('timeout');
}

const TOO_LARGE: CallResult = { ok: false, kind: 'too-large' };

/**
 * One copy's exchange with the copy client: collects the answer's status, headers and body
 * chunks, and settles `result` exactly once — with the answer, `too-large` (the connection is then
 * dropped, as nothing more will be read), or a failure.
 */
class CopyCall implements CopyExchange, InflightCopy {
  readonly result: Promise<CallResult>;
  private resolve: (r: CallResult) => void = () => {};
  private conn: CopyConnection | null = null;
  private timer: NodeJS.Timeout | null = null;
  private settled = false;
  private status = 0;
  private headers: IncomingHttpHeaders = {};
  private chunks: Buffer[] = [];
  private size = 0;
  listPrev: InflightCopy | null = null;
  listNext: InflightCopy | null = null;

  constructor(
    private readonly maxBytes: number,
    private readonly inflight: InflightCopies | null,
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

  /** Settles as a failure and drops the copy's connection. */
  fail(reason: CandidateFailure): void {
    if (this.settled) return;
    this.settle({ ok: false, kind: 'failure', reason });
    this.stop();
  }

  attach(conn: CopyConnection): void {
    this.conn = conn;
  }

  onHead(status: number, headers: IncomingHttpHeaders): boolean {
    this.status = status;
    this.headers = headers;
    if (Number(this.headers['content-length'] ?? -1) > this.maxBytes) return this.tooLarge();
    return true;
  }

  onBody(chunk: Buffer): boolean {
    this.size += chunk.length;
    if (this.size > this.maxBytes) return this.tooLarge();
    // The chunk is a view of the connection's read buffer, valid only during this call.
    this.chunks.push(Buffer.from(chunk));
    return true;
  }

  onComplete(): void {
    this.conn = null;
    // A body that arrived in one chunk is that chunk's copy: no second one.
    const body = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.size);
    this.settle({ ok: true, response: { status: this.status, headers: this.headers, body } });
  }

  onFailure(reason: CandidateFailure): void {
    this.conn = null;
    this.settle({ ok: false, kind: 'failure', reason });
  }

  private tooLarge(): false {
    this.settle(TOO_LARGE);
    this.stop();
    return false;
  }

  private stop(): void {
    const conn = this.conn;
    this.conn = null;
    conn?.abort(this);
  }

  private settle(r: CallResult): void {
    if (this.settled) return;
    this.settled = true;
    this.chunks = [];
    if (this.timer !== null) clearTimeout(this.timer);
    this.inflight?.remove(this);
    this.resolve(r);
  }
}
