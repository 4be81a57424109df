import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ErrorCode } from '../errors.js';
import { ERRORS } from '../errors.js';
import { AccessLog } from '../observability/access-log.js';
import type { Logger } from '../observability/logger.js';
import type { RouteModel, RouteTarget, UpstreamModel } from '../rules/route-model.js';
import type { RouteTable } from '../rules/route-table.js';
import type { Clock, RandomSource } from '../util/clock.js';
import { acceptableRequestId, clientIp, hostName } from './client-address.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { chooseTarget, flagContext } from './decide.js';
import type { FlagDecider, FlagDecision } from '../flags/flag-decider.js';
import { isPromise } from '../flags/flag-provider.js';
import type { ShadowEngine } from '../shadow/shadow-dispatcher.js';
import { endpointKey, shouldShadow } from '../shadow/shadow-policy.js';
import { ShadowCapture } from './shadow-capture.js';
import { errorMessage, sendError } from './error-response.js';
import type { ForwardOutcome } from './forward-outcome.js';
import { OUTCOME_ERROR } from './forward-outcome.js';
import { upstreamRequestHeaders } from './forward-headers.js';
import type { IdSource } from './id-source.js';
import type { ExchangeOwner } from './proxy-exchange.js';
import { UpstreamDeadlines } from './upstream-deadlines.js';
import { ProxyExchange } from './proxy-exchange.js';
import type { ProxyMetrics } from './proxy-metrics.js';
import { statusClassIndex } from './proxy-metrics.js';
import { normalizeTarget } from './request-path.js';
import { rewritePath } from './rewrite.js';
import type { TraceContext } from './trace-context.js';
import { continueTrace, formatTraceparent } from './trace-context.js';
import { proxyWebSocket } from './websocket-proxy.js';

export interface ProxyServerDeps {
  readonly logger: Logger;
  readonly metrics: ProxyMetrics;
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly ids: IdSource;
  readonly accessLog: boolean;
  /** evaluates flag-decided routes; null when the rules configure no flags */
  readonly flags: FlagDecider | null;
  /** receives shadow copies after the client response; null disables shadowing */
  readonly shadow: ShadowEngine | null;
}

/**
 * The data plane: a raw node:http server. Per request, in order:
 * 1. normalize the target (400 on ambiguity), 2. match a route on the table snapshot taken at
 * arrival, 3. build the request context (trace, request id, client ip), 4. decide the upstream,
 * 5. rewrite path and headers, 6. stream through the upstream pool (ProxyExchange), 7. after the
 * response: metrics and the access log line (finish).
 */
export class ProxyServer implements ExchangeOwner {
  readonly server: Server;
  private table: RouteTable;
  private inFlight = 0;
  private draining = false;
  private drained: (() => void) | null = null;
  private readonly upgraded = new Set<Duplex>();
  private readonly breakers = new Map<string, CircuitBreaker>();
  readonly deadlines: UpstreamDeadlines;
  /** Null when the access log is off. */
  private readonly access: AccessLog | null;

  constructor(table: RouteTable, private readonly deps: ProxyServerDeps) {
    this.table = table;
    this.access = deps.accessLog ? new AccessLog(deps.logger) : null;
    // A deadline handler that throws is a bug; it must not take the other requests' deadlines down.
    this.deadlines = new UpstreamDeadlines(deps.clock, (err) => deps.logger.error({ err }, 'upstream timeout handling failed'));
    this.server = createServer({ keepAliveTimeout: 5_000 }, (req, res) => this.handleSafely(req, res));
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.handleUpgrade(req, socket, head));
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      if (socket.writable && err.code !== 'ECONNRESET') socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      else socket.destroy();
    });
  }

  /** Atomically replaces the route table; requests in flight keep the one they started with. */
  swap(table: RouteTable): void {
    this.table = table;
  }

  get currentTable(): RouteTable {
    return this.table;
  }

  get requestsInFlight(): number {
    return this.inFlight;
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /** A thrown exception here is a bug: answer 500 FICUS_ERR_INTERNAL and log the stack, never crash. */
  private handleSafely(req: IncomingMessage, res: ServerResponse): void {
    try {
      this.handle(req, res);
    } catch (err) {
      this.internalError(req, res, err);
    }
  }

  private internalError(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    this.deps.logger.error({ err, method: req.method, path: req.url }, 'internal error while proxying');
    if (!res.headersSent) sendError(res, 'FICUS_ERR_INTERNAL', errorMessage('FICUS_ERR_INTERNAL', (err as Error).message), '-', this.table.settings.requestIdHeader);
    else res.destroy();
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const table = this.table;
    const startedAt = this.deps.clock.monotonic();
    const headers = req.headers;
    const trace = continueTrace(headers.traceparent, this.deps.ids);
    const requestId = acceptableRequestId(headers[table.settings.requestIdHeader]) ?? trace.traceId;
    if (this.draining) {
      res.setHeader('connection', 'close');
      return this.local(req, res, startedAt, trace, requestId, null, 'FICUS_ERR_SHUTTING_DOWN', errorMessage('FICUS_ERR_SHUTTING_DOWN'));
    }
    const target = normalizeTarget(req.url ?? '');
    if (typeof target === 'string') {
      return this.local(req, res, startedAt, trace, requestId, null, 'FICUS_ERR_BAD_REQUEST_PATH', errorMessage('FICUS_ERR_BAD_REQUEST_PATH', target));
    }
    const method = req.method ?? 'GET';
    const route = table.match(method, hostName(headers.host), headers, target.segs, target.segCount);
    if (route === null) {
      return this.local(req, res, startedAt, trace, requestId, null, 'FICUS_ERR_NO_ROUTE', errorMessage('FICUS_ERR_NO_ROUTE', `${method} ${target.path}`));
    }
    const ip = clientIp(req);
    const d = route.decision;
    if (d.kind !== 'flag') {
      return this.forward(req, res, table, route, chooseTarget(route.name, d, headers, target.query, ip, this.deps.random), target.path, target.query, ip, startedAt, trace, requestId);
    }
    // Flag-decided route: the local provider answers synchronously; LaunchDarkly with a promise.
    const flags = this.deps.flags;
    const decided: FlagDecision | Promise<FlagDecision> | null = flags === null ? null : flags.decide(d.flag, flagContext(d.context, headers, target.query, ip));
    if (decided === null || !isPromise(decided)) {
      const t = decided === null ? d.fallbackTarget : d.targets.get(decided.choice) ?? d.fallbackTarget;
      return this.forward(req, res, table, route, t, target.path, target.query, ip, startedAt, trace, requestId);
    }
    void decided.then((dec) => {
      if (res.destroyed) return;
      try {
        this.forward(req, res, table, route, d.targets.get(dec.choice) ?? d.fallbackTarget, target.path, target.query, ip, startedAt, trace, requestId);
      } catch (err) {
        this.internalError(req, res, err);
      }
    });
  }

  /** Steps 4–6 once the target is known: breaker, rewrite, headers, shadow capture, dispatch. */
  private forward(
    req: IncomingMessage,
    res: ServerResponse,
    table: RouteTable,
    route: RouteModel,
    target: RouteTarget,
    normalizedPath: string,
    query: string,
    ip: string,
    startedAt: number,
    trace: TraceContext,
    requestId: string,
  ): void {
    const headers = req.headers;
    let upstream = target.upstream;
    let fallbackReason: string | null = null;
    const breaker = this.breakerFor(upstream);
    if (breaker !== null && !breaker.allow()) {
      if (route.fallback === null) {
        return this.local(req, res, startedAt, trace, requestId, route, 'FICUS_ERR_CIRCUIT_OPEN', errorMessage('FICUS_ERR_CIRCUIT_OPEN', upstream.name));
      }
      upstream = route.fallback;
      fallbackReason = 'circuit-open';
    }
    const path = rewritePath(route, normalizedPath) + query;
    const upstreamHeaders = upstreamRequestHeaders(
      headers,
      { clientIp: ip, proto: 'http', requestId, traceparent: formatTraceparent(trace) },
      upstream,
      table.settings,
      route.requestHeaders,
    );
    const cl = headers['content-length'];
    const hasBody = (cl !== undefined && cl !== '0') || headers['transfer-encoding'] !== undefined;
    const ex = new ProxyExchange(this, req, res, route, upstream, requestId, trace, path, startedAt, table.settings.requestIdHeader);
    ex.fallbackReason = fallbackReason;
    // Shadowing keeps bounded copies only; the client's bytes stream as for any route.
    if (target.candidate !== null && fallbackReason === null && route.shadow !== null && this.deps.shadow !== null) {
      if (shouldShadow(req.method ?? 'GET', route.shadow, this.deps.random) === 'copy') {
        ex.shadow = new ShadowCapture(target, route.shadow, upstreamHeaders, this.deps.clock.now());
        if (hasBody) ex.shadow.captureRequestBody(req);
      }
    }
    this.inFlight++;
    this.deps.metrics.inFlight.inc();
    ex.start(upstreamHeaders, hasBody);
  }

  /** The client response is complete: hand the shadow copy over (never awaited). */
  shadowComplete(ex: ProxyExchange): void {
    const cap = ex.shadow;
    const dispatcher = this.deps.shadow;
    if (cap === null || dispatcher === null || ex.outcome !== 'ok') return;
    const t = cap.target;
    // The noise secondary is named by role: in shadow mode legacy is the primary, in live mode the candidate.
    const legacy = t.shadowMode === 'shadow' ? t.upstream : t.candidate;
    const fresh = t.shadowMode === 'shadow' ? t.candidate : t.upstream;
    const secondary = cap.policy.noise === null ? null : cap.policy.noise.secondary === 'legacy' ? legacy : fresh;
    dispatcher.submit({
      route: ex.route.name,
      endpoint: endpointKey(ex.req.method ?? 'GET', ex.route.endpointPattern),
      mode: t.shadowMode!,
      policy: cap.policy,
      method: ex.req.method ?? 'GET',
      path: ex.upstreamPath,
      headers: cap.requestHeaders,
      requestBody: cap.requestBody(),
      primary: { status: ex.status, rawHeaders: cap.responseHeaders, body: cap.responseBody() },
      candidateOrigin: t.candidate!.origin,
      secondaryOrigin: secondary?.origin ?? null,
      startedAt: cap.startedAt,
    });
  }

  /**
   * An upstream failed before any response byte reached the client. When the route has a fallback
   * and replaying is safe (no request body, and either an idempotent method or a request that
   * never reached the upstream), the fallback serves it; otherwise answer with a JSON error.
   */
  fail(ex: ProxyExchange): void {
    const fallback = ex.route.fallback;
    if (fallback !== null && fallback !== ex.upstream && ex.fallbackReason === null && canReplay(ex)) {
      this.recordBreaker(ex);
      this.deps.metrics.upstreamErrors.labels(ex.upstream.name, ex.outcome).inc();
      this.deps.logger.warn(
        { trace_id: ex.trace.traceId, span_id: ex.trace.spanId, route: ex.route.name, upstream: ex.upstream.name, fallback: fallback.name, outcome: ex.outcome, error: ex.error?.message },
        'upstream failed, falling back',
      );
      const next = new ProxyExchange(this, ex.req, ex.res, ex.route, fallback, ex.requestId, ex.trace, ex.upstreamPath, ex.startedAt, this.table.settings.requestIdHeader);
      next.fallbackReason = ex.outcome;
      ex.finished = true; // detached: `next` now owns the client response and the in-flight slot
      const headers = upstreamRequestHeaders(
        ex.req.headers,
        { clientIp: clientIp(ex.req), proto: 'http', requestId: ex.requestId, traceparent: formatTraceparent(ex.trace) },
        fallback,
        this.table.settings,
        ex.route.requestHeaders,
      );
      next.start(headers, false);
      return;
    }
    const code = OUTCOME_ERROR[ex.outcome as keyof typeof OUTCOME_ERROR] ?? 'FICUS_ERR_UPSTREAM_UNREACHABLE';
    ex.status = ERRORS[code].status ?? 502;
    sendError(ex.res, code, errorMessage(code, ex.upstream.name), ex.requestId, this.table.settings.requestIdHeader);
    ex.done();
  }

  finish(ex: ProxyExchange): void {
    this.recordBreaker(ex);
    this.inFlight--;
    this.deps.metrics.inFlight.dec();
    const seconds = (this.deps.clock.monotonic() - ex.startedAt) / 1000;
    const stats = this.deps.metrics.pair(ex.route.name, ex.upstream.name);
    const status = ex.outcome === 'client-aborted' && ex.status === 0 ? 499 : ex.status;
    stats.byClass[statusClassIndex(status)].n++;
    stats.duration.observe(seconds);
    if (ex.outcome !== 'ok') this.deps.metrics.upstreamErrors.labels(ex.upstream.name, ex.outcome).inc();
    if (ex.outcome !== 'ok' && ex.outcome !== 'client-aborted') {
      this.deps.logger.warn(
        { trace_id: ex.trace.traceId, span_id: ex.trace.spanId, route: ex.route.name, upstream: ex.upstream.name, outcome: ex.outcome, error: ex.error?.message },
        'upstream exchange failed',
      );
    }
    this.accessLog(ex.req, ex.trace, ex.route.name, ex.upstream.name, status, seconds, ex.outcome, ex.requestId, ex.fallbackReason);
    if (this.draining && this.inFlight === 0) this.drained?.();
  }

  private local(req: IncomingMessage, res: ServerResponse, startedAt: number, trace: TraceContext, requestId: string, route: RouteModel | null, code: ErrorCode, message: string): void {
    sendError(res, code, message, requestId, this.table.settings.requestIdHeader);
    const seconds = (this.deps.clock.monotonic() - startedAt) / 1000;
    const status = ERRORS[code].status ?? 500;
    this.deps.metrics.pair(route?.name ?? '-', '-').byClass[statusClassIndex(status)].n++;
    this.accessLog(req, trace, route?.name ?? '-', '-', status, seconds, code, requestId);
  }

  private breakerFor(upstream: UpstreamModel): CircuitBreaker | null {
    const settings = upstream.breaker;
    if (settings === null) return null;
    let b = this.breakers.get(upstream.name);
    if (b === undefined || b.settings.failures !== settings.failures || b.settings.cooldownMs !== settings.cooldownMs) {
      b = new CircuitBreaker(settings, this.deps.clock);
      this.breakers.set(upstream.name, b);
    }
    return b;
  }

  /** Breaker state of an upstream, for the admin API and tests. */
  breakerState(upstream: string): string | null {
    return this.breakers.get(upstream)?.state ?? null;
  }

  private recordBreaker(ex: ProxyExchange): void {
    if (ex.breakerRecorded) return;
    ex.breakerRecorded = true;
    const b = this.breakerFor(ex.upstream);
    if (b === null) return;
    if (ex.outcome === 'client-aborted') b.neutral();
    else if (ex.outcome === 'ok' && ex.status < 500) b.success();
    else b.failure();
  }

  private accessLog(
    req: IncomingMessage,
    trace: TraceContext,
    route: string,
    upstream: string,
    status: number,
    seconds: number,
    outcome: string,
    requestId: string,
    fallback: string | null = null,
  ): void {
    this.access?.write(trace.traceId, trace.spanId, requestId, route, upstream, req.method, req.url, status, Math.round(seconds * 1e6) / 1e3, outcome, fallback);
  }

  private handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const table = this.table;
    const trace = continueTrace(req.headers.traceparent, this.deps.ids);
    const requestId = acceptableRequestId(req.headers[table.settings.requestIdHeader]) ?? trace.traceId;
    const refuse = (status: number, code: string) => {
      socket.end(`HTTP/1.1 ${status} ${code}\r\nconnection: close\r\ncontent-length: 0\r\nx-ficus-error: ${code}\r\n\r\n`);
    };
    if (this.draining) return refuse(503, 'FICUS_ERR_SHUTTING_DOWN');
    const target = normalizeTarget(req.url ?? '');
    if (typeof target === 'string') return refuse(400, 'FICUS_ERR_BAD_REQUEST_PATH');
    const route = table.match(req.method ?? 'GET', hostName(req.headers.host), req.headers, target.segs, target.segCount);
    if (route === null) return refuse(404, 'FICUS_ERR_NO_ROUTE');
    const ip = clientIp(req);
    // Upgrades follow the route's static choice; a flag-decided route upgrades to its default target.
    const d = route.decision;
    const upstream: UpstreamModel = (d.kind === 'flag' ? d.fallbackTarget : chooseTarget(route.name, d, req.headers, target.query, ip, this.deps.random)).upstream;
    const headers = upstreamRequestHeaders(
      req.headers,
      { clientIp: ip, proto: 'http', requestId, traceparent: formatTraceparent(trace) },
      upstream,
      table.settings,
      route.requestHeaders,
    );
    this.upgraded.add(socket);
    socket.once('close', () => this.upgraded.delete(socket));
    const startedAt = this.deps.clock.monotonic();
    void proxyWebSocket(req, socket as Socket, head, upstream, rewritePath(route, target.path) + target.query, headers).then((outcome) => {
      const stats = this.deps.metrics.pair(route.name, upstream.name);
      stats.byClass[statusClassIndex(outcome.status)].n++;
      this.accessLog(req, trace, route.name, upstream.name, outcome.status, (this.deps.clock.monotonic() - startedAt) / 1000, outcome.outcome, requestId);
    });
  }

  /**
   * Graceful shutdown: stop accepting, answer new requests on open connections with 503 +
   * `connection: close`, wait for in-flight requests (bounded), then close what is left.
   */
  async shutdown(timeoutMs: number): Promise<void> {
    this.draining = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    if (this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.server.closeAllConnections();
    for (const s of this.upgraded) s.destroy();
    await closed;
    this.deadlines.stop();
    this.access?.close();
  }
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS']);
const NEVER_REACHED: ReadonlySet<ForwardOutcome> = new Set(['connect-refused', 'connect-timeout']);

/** A failed request may be replayed on the fallback without risking a double effect. */
function canReplay(ex: ProxyExchange): boolean {
  if (ex.hasBody) return false;
  return IDEMPOTENT.has(ex.req.method ?? 'GET') || NEVER_REACHED.has(ex.outcome);
}
