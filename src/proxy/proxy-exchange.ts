import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { errors } from 'undici';
import type { RouteModel, UpstreamModel } from '../rules/route-model.js';
import { HOP_BY_HOP } from './hop-by-hop.js';
import type { ForwardOutcome } from './forward-outcome.js';
import { classifyUpstreamError } from './forward-outcome.js';
import type { ShadowCapture } from './shadow-capture.js';
import type { TraceContext } from './trace-context.js';
import type { DeadlineEntry, DeadlineKind, UpstreamDeadlines } from './upstream-deadlines.js';

export interface ExchangeOwner {
  /** Called exactly once per exchange, when the client response is finished or abandoned. */
  finish(ex: ProxyExchange): void;
  /** Called when the upstream failed before response headers were sent to the client. */
  fail(ex: ProxyExchange): void;
  /** Called after a shadowed exchange's client response ended. */
  shadowComplete(ex: ProxyExchange): void;
  /** Where the exchange's upstream timeouts (headers, then body) are kept. */
  readonly deadlines: UpstreamDeadlines;
}

const kExchange = Symbol('ficus.exchange');
type TaggedResponse = ServerResponse & { [kExchange]?: ProxyExchange };

// Shared listeners: `this` is the response, which carries its exchange, so no closure per request.
function onResponseClose(this: TaggedResponse): void {
  this[kExchange]?.clientClosed();
}
function onResponseDrain(this: TaggedResponse): void {
  this[kExchange]?.resumeUpstream();
}

/**
 * One proxied request: an undici dispatch handler (the legacy handler interface, which undici
 * calls without an adapter) that streams the upstream response into the client response with
 * backpressure both ways, and records how it ended.
 */
export class ProxyExchange implements Dispatcher.DispatchHandler, DeadlineEntry {
  status = 0;
  outcome: ForwardOutcome = 'ok';
  error: Error | null = null;
  finished = false;
  /** set when this exchange serves a request its first upstream could not: why */
  fallbackReason: string | null = null;
  /** the breaker outcome was already recorded (fallback path) */
  breakerRecorded = false;
  hasBody = false;
  /** bounded copies for the shadow comparison; null unless this request is copied */
  shadow: ShadowCapture | null = null;
  private abortUpstream: ((reason?: Error) => void) | null = null;
  private resumeFn: (() => void) | null = null;
  private clientGone = false;
  /** bytes still expected per the upstream's content-length, or -1 when unknown */
  private remaining = -1;
  private ended = false;
  // The upstream timeouts (DeadlineEntry): kept by the owner's UpstreamDeadlines, not by undici.
  deadlineAt = 0;
  deadlineKind: DeadlineKind = 'headers';
  listPrev: DeadlineEntry | null = null;
  listNext: DeadlineEntry | null = null;

  constructor(
    readonly owner: ExchangeOwner,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly route: RouteModel,
    readonly upstream: UpstreamModel,
    readonly requestId: string,
    readonly trace: TraceContext,
    readonly upstreamPath: string,
    readonly startedAt: number,
    private readonly requestIdHeader: string,
  ) {
    (res as TaggedResponse)[kExchange] = this;
    res.once('close', onResponseClose);
  }

  start(headers: Record<string, string | string[]>, hasBody: boolean): void {
    this.hasBody = hasBody;
    this.upstream.dispatcher.dispatch(
      {
        path: this.upstreamPath,
        method: this.req.method as Dispatcher.HttpMethod,
        headers,
        body: hasBody ? this.req : null,
        // Enforced by the owner's UpstreamDeadlines from onConnect on (see upstream-deadlines.ts).
        headersTimeout: 0,
        bodyTimeout: 0,
      },
      this,
    );
  }

  // ---- undici handler ----

  onConnect(abort: (err?: Error) => void): void {
    if (this.clientGone) {
      abort(new Error('client aborted'));
      return;
    }
    this.abortUpstream = abort;
    this.owner.deadlines.arm(this, 'headers', this.upstream.headersTimeoutMs);
  }

  /** An upstream timeout passed: fail the request with undici's own error, as its timers did. */
  onDeadline(kind: DeadlineKind): void {
    const abort = this.abortUpstream;
    if (abort === null || this.finished) return;
    abort(kind === 'headers' ? new errors.HeadersTimeoutError() : new errors.BodyTimeoutError());
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true; // 1xx informational responses are not relayed
    this.owner.deadlines.arm(this, 'body', this.upstream.bodyTimeoutMs);
    this.status = statusCode;
    this.resumeFn = resume;
    const res = this.res;
    if (this.clientGone || res.destroyed) return false;
    const flat: string[] = [];
    const remove = this.route.responseHeaders?.remove ?? null;
    let connectionExtra: string | null = null;
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = rawHeaders[i].toString('latin1');
      const lower = name.toLowerCase();
      if (HOP_BY_HOP.has(lower)) {
        if (lower === 'connection') connectionExtra = rawHeaders[i + 1].toString('latin1').toLowerCase();
        continue;
      }
      if (remove !== null && remove.includes(lower)) continue;
      const value = rawHeaders[i + 1].toString('latin1');
      if (lower === 'content-length') this.remaining = Number(value);
      flat.push(name, value);
    }
    if (connectionExtra !== null) {
      for (const token of connectionExtra.split(',')) {
        const t = token.trim();
        if (t && t !== 'keep-alive' && t !== 'close') stripNamed(flat, t);
      }
    }
    const set = this.route.responseHeaders?.set ?? null;
    if (set !== null) {
      for (const [k, v] of set) {
        stripNamed(flat, k);
        flat.push(k, v);
      }
    }
    if (!hasHeader(flat, this.requestIdHeader)) flat.push(this.requestIdHeader, this.requestId);
    if (this.fallbackReason !== null) flat.push('x-ficus-fallback', this.fallbackReason);
    res.writeHead(statusCode, flat);
    if (this.shadow !== null) this.shadow.captureResponseHead(flat);
    return true;
  }

  onData(chunk: Buffer): boolean {
    const res = this.res;
    if (this.clientGone) return false;
    this.owner.deadlines.refresh(this, this.upstream.bodyTimeoutMs);
    if (this.shadow !== null) this.shadow.captureResponseChunk(chunk);
    // The last chunk of a sized body goes out with end(): headers, body and end in one write.
    if (this.remaining >= 0 && (this.remaining -= chunk.length) === 0) {
      this.ended = true;
      res.end(chunk);
      return true;
    }
    if (res.write(chunk)) return true;
    res.once('drain', onResponseDrain);
    return false;
  }

  onComplete(): void {
    this.owner.deadlines.disarm(this);
    if (!this.clientGone && !this.ended) this.res.end();
    this.done();
    if (this.shadow !== null && !this.clientGone) this.owner.shadowComplete(this);
  }

  onError(err: Error): void {
    this.owner.deadlines.disarm(this);
    this.error = err;
    this.outcome = classifyUpstreamError(err, this.clientGone);
    if (this.outcome === 'client-aborted') {
      this.done();
    } else if (!this.res.headersSent) {
      this.owner.fail(this);
    } else {
      // Headers already went out: the only honest signal left is to cut the response short.
      this.res.destroy(err);
      this.done();
    }
  }

  // ---- client side ----

  clientClosed(): void {
    if (this.finished || this.res.writableFinished) return;
    this.clientGone = true;
    const abort = this.abortUpstream;
    if (abort !== null) abort(new Error('client aborted'));
  }

  resumeUpstream(): void {
    // The client drained what it was sent: the body's idle time restarts, as undici's timer did.
    this.owner.deadlines.refresh(this, this.upstream.bodyTimeoutMs);
    this.resumeFn?.();
  }

  /** Marks the exchange finished; the owner records it. Idempotent. */
  done(): void {
    if (this.finished) return;
    this.finished = true;
    this.owner.deadlines.disarm(this);
    if (this.clientGone && this.outcome === 'ok') this.outcome = 'client-aborted';
    this.owner.finish(this);
  }
}

function stripNamed(flat: string[], lowerName: string): void {
  for (let i = flat.length - 2; i >= 0; i -= 2) {
    if (flat[i].toLowerCase() === lowerName) flat.splice(i, 2);
  }
}

function hasHeader(flat: string[], lowerName: string): boolean {
  for (let i = 0; i < flat.length; i += 2) if (flat[i].toLowerCase() === lowerName) return true;
  return false;
}
