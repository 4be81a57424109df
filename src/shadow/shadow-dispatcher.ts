import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from '../observability/logger.js';
import { silentLogger } from '../observability/logger.js';
import type { Clock, RandomSource } from '../util/clock.js';
import { systemClock, systemRandom } from '../util/clock.js';
import { BoundedExecutor } from './bounded-executor.js';
import type { LoadProbe } from './load-probe.js';
import { LoadShedder } from './load-probe.js';
import type { CallResult, CopyRequest } from './candidate-client.js';
import { callCopy, shadowRequestHeaders } from './candidate-client.js';
import type { ResponseCopy } from './compare/compare-responses.js';
import { CopyClient } from './copy-client/copy-client.js';
import { InflightCopies } from './inflight-copies.js';
import { compareResponses } from './compare/compare-responses.js';
import type { DiffEntry } from './compare/diff-entry.js';
import type { NoiseThresholds } from './noise/noise-model.js';
import { NOISE_THRESHOLDS, isNoise } from './noise/noise-model.js';
import { headersOf } from './raw-headers.js';
import { Redactor } from './record/redactor.js';
import type { ComparisonRecord, DropReason, MismatchSample, RecordSink, ShadowOutcome } from './record/shadow-record.js';
import { COUNTER, MATCHED, fieldsOf } from './record/shadow-record.js';
import { StatsAggregate } from './record/stats-aggregate.js';
import type { ComparisonResult, ShadowMetrics } from './shadow-metrics.js';
import { noShadowMetrics } from './shadow-metrics.js';
import type { ShadowPolicy } from './shadow-policy.js';
import { shadowRoles } from './shadow-policy.js';

/**
 * What the forwarder hands over after the primary response has been sent to the client:
 * bounded copies of the request and of the primary response. `'too-large'` marks a body the
 * forwarder stopped copying at `policy.maxBodyBytes` (it still streamed in full to its peer).
 */
export interface ShadowExchange {
  readonly route: string;
  /** Method + the route's pattern with parameters, e.g. `GET /api/users/:id` (see endpointKey). */
  readonly endpoint: string;
  /** `shadow`: primary = legacy, candidate = new. `live`: primary = new, candidate = legacy. */
  readonly mode: 'shadow' | 'live';
  readonly policy: ShadowPolicy;
  readonly method: string;
  /** Path and query as sent upstream. */
  readonly path: string;
  /**
   * The request headers as sent to the primary upstream (after the route's transforms, with
   * X-Forwarded-*); hop-by-hop fields and credentials are removed here, per policy.
   */
  readonly headers: IncomingHttpHeaders;
  readonly requestBody: Buffer | null | 'too-large';
  /**
   * The primary's response. `rawHeaders` are the name/value pairs as sent to the client (names in
   * their own case, a repeated field repeated), like IncomingMessage#rawHeaders: the forwarder hands
   * over the list it wrote, and the object comparisons use is built where the copy is compared.
   */
  readonly primary: { readonly status: number; readonly rawHeaders: readonly string[]; readonly body: Buffer | 'too-large' };
  /** Origin of the service compared against the primary, e.g. `http://127.0.0.1:8081`. */
  readonly candidateOrigin: string;
  /** Origin of the service named by `noise.secondary`; null when none is configured. */
  readonly secondaryOrigin: string | null;
  /** Wall-clock ms when the client request arrived. */
  readonly startedAt: number;
}

export type SubmitResult = 'accepted' | 'dropped' | 'skipped-too-large';

/**
 * Where the forwarder hands finished exchanges: the dispatcher itself (on the main thread), or a
 * ShadowWorkerHost that runs one in a worker thread.
 */
export interface ShadowEngine {
  /** Queues a copy; returns at once and never throws. */
  submit(ex: ShadowExchange): SubmitResult;
  /** Resolves when every copy submitted so far has been compared and recorded. */
  idle(): Promise<void>;
  /** Stops accepting, aborts copies in flight, waits for them to be recorded. */
  close(): Promise<void>;
}

/** A copy never sent: recorded for the report and counted, by either engine. */
export function recordDrop(recorder: RecordSink, metrics: ShadowMetrics, route: string, endpoint: string, roles: ComparisonRecord['roles'], reason: DropReason): SubmitResult {
  recorder.recordDropped(route, endpoint, roles, reason);
  metrics.dropped(route, reason);
  return 'dropped';
}

export interface ShadowDispatcherOptions {
  readonly recorder: RecordSink;
  readonly metrics?: ShadowMetrics;
  readonly clock?: Clock;
  readonly random?: RandomSource;
  readonly logger?: Logger;
  readonly noiseThresholds?: NoiseThresholds;
  /**
   * Load shedding: while the event loop is busier than this (0..1), new copies are dropped and
   * counted (reason `overload`), so shadowing backs off before it slows client responses.
   * Default 0.85; 1 disables shedding.
   */
  readonly shedAboveUtilization?: number;
  /**
   * Bytes of copied bodies held by queued and running copies, across routes (default 64 MiB).
   * queueSize x maxBodyBytes alone could reach gigabytes; past this a copy is dropped (`queue-full`).
   */
  readonly maxBufferedBytes?: number;
  /** Defaults to an event-loop-utilization probe owned (and closed) by the dispatcher. */
  readonly loadProbe?: LoadProbe;
}

interface RouteExecutor {
  readonly executor: BoundedExecutor;
  readonly queueSize: number;
  readonly concurrency: number;
  /** The queue depth last given to the gauge (-1: never). */
  reportedDepth: number;
}

/**
 * The shadowing engine. `submit()` never waits for a candidate and never throws: the copy runs
 * later from the route's bounded queue, with bounded concurrency and its own timeout, so a
 * candidate that hangs, refuses or fails cannot delay or fail a client response.
 */
export class ShadowDispatcher implements ShadowEngine {
  private readonly recorder: RecordSink;
  private readonly metrics: ShadowMetrics;
  private readonly clock: Clock;
  private readonly random: RandomSource;
  private readonly log: Logger;
  /** Carries the copies: its own keep-alive connections, apart from the forwarder's pools. */
  private readonly client: CopyClient;
  private readonly thresholds: NoiseThresholds;
  private readonly executors = new Map<string, RouteExecutor>();
  /** Executors replaced by a reload, still draining (idle() and close() wait for them). */
  private retired: BoundedExecutor[] = [];
  /** Counters of this process only, to label each comparison noise-only in metrics right away. */
  private readonly live = new StatsAggregate(0);
  /** Candidate calls in flight, aborted by close(). */
  private readonly inflight = new InflightCopies();
  private readonly shedder: LoadShedder;
  private readonly maxBuffered: number;
  private buffered = 0;
  private closed = false;

  constructor(options: ShadowDispatcherOptions) {
    this.recorder = options.recorder;
    this.metrics = options.metrics ?? noShadowMetrics;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? systemRandom;
    this.log = (options.logger ?? silentLogger()).child({ component: 'shadow' });
    this.client = new CopyClient({ clock: this.clock });
    this.thresholds = options.noiseThresholds ?? NOISE_THRESHOLDS;
    this.maxBuffered = options.maxBufferedBytes ?? 64 * 1024 * 1024;
    this.shedder = new LoadShedder(options.shedAboveUtilization ?? 0.85, options.loadProbe);
  }

  /** Queues a copy; returns at once. */
  submit(ex: ShadowExchange): SubmitResult {
    const roles = shadowRoles(ex.mode);
    if (this.closed || roles === null) return 'dropped';
    try {
      // 1. Bodies the forwarder could not copy in full cannot be compared.
      if (ex.requestBody === 'too-large' || ex.primary.body === 'too-large') {
        this.finish(ex, roles, { kind: 'skipped', reason: 'too-large' }, null);
        return 'skipped-too-large';
      }
      // 2. Shed copies while this process is saturated: the client path comes first.
      if (this.shedder.shed()) return this.drop(ex, roles, 'overload');
      // 3. Sampling for the noise secondary is decided now, with the injected random source.
      const withSecondary = ex.policy.noise !== null && ex.secondaryOrigin !== null && this.random() < ex.policy.noise.sample;
      // 4. Bounded memory: the bodies this copy holds until it is compared.
      const bytes = (ex.requestBody?.length ?? 0) + ex.primary.body.length;
      if (this.buffered + bytes > this.maxBuffered) return this.drop(ex, roles, 'queue-full');
      const entry = this.executorFor(ex.route, ex.policy);
      const accepted = entry.executor.tryRun(() => this.run(ex, roles, withSecondary, bytes));
      if (accepted) this.buffered += bytes;
      this.reportDepth(ex.route, entry);
      return accepted ? 'accepted' : this.drop(ex, roles, 'queue-full');
    } catch (err) {
      // A bug here must never reach the client's response path.
      this.log.error({ err, route: ex.route }, 'shadow submit failed');
      return 'dropped';
    }
  }

  private drop(ex: ShadowExchange, roles: ComparisonRecord['roles'], reason: DropReason): SubmitResult {
    return recordDrop(this.recorder, this.metrics, ex.route, ex.endpoint, roles, reason);
  }

  /** Resolves when every queued and running copy has been compared and recorded. */
  async idle(): Promise<void> {
    const all = () => [...[...this.executors.values()].map((e) => e.executor), ...this.retired];
    while (all().some((e) => e.depth > 0 || e.inFlight > 0)) {
      await Promise.all(all().map((e) => e.idle()));
    }
    this.retired = this.retired.filter((e) => e.depth > 0 || e.inFlight > 0);
  }

  /** Stops accepting, aborts copies in flight, waits for them to be recorded, closes its connections. */
  async close(): Promise<void> {
    this.closed = true;
    this.inflight.abortAll();
    await this.idle();
    this.client.close();
    this.shedder.close();
  }

  /** The queue-depth gauge moves only when the depth did: no metric update per copy while nothing waits. */
  private reportDepth(route: string, entry: RouteExecutor): void {
    const depth = entry.executor.depth;
    if (depth === entry.reportedDepth) return;
    entry.reportedDepth = depth;
    this.metrics.queueDepth(route, depth);
  }

  private executorFor(route: string, policy: ShadowPolicy): RouteExecutor {
    const cur = this.executors.get(route);
    if (cur && cur.queueSize === policy.queueSize && cur.concurrency === policy.concurrency) return cur;
    // A reload changed the limits: new copies use a new executor, the old one drains on its own.
    if (cur) this.retired = [...this.retired.filter((e) => e.depth > 0 || e.inFlight > 0), cur.executor];
    const executor = new BoundedExecutor(policy.queueSize, policy.concurrency, (err) => this.log.error({ err, route }, 'shadow task failed'));
    const entry: RouteExecutor = { executor, queueSize: policy.queueSize, concurrency: policy.concurrency, reportedDepth: -1 };
    this.executors.set(route, entry);
    return entry;
  }

  /** Runs one accepted copy; the `bytes` it held are released once it is recorded (or not sent). */
  private async run(ex: ShadowExchange, roles: ComparisonRecord['roles'], withSecondary: boolean, bytes: number): Promise<void> {
    try {
      // Copies still queued at shutdown are not sent.
      if (this.closed) return;
      const entry = this.executors.get(ex.route);
      if (entry !== undefined) this.reportDepth(ex.route, entry);
      const policy = ex.policy;
      const headers = shadowRequestHeaders(ex.headers, policy);
      const body = ex.requestBody === 'too-large' ? null : ex.requestBody;
      const copy: CopyRequest = { origin: ex.candidateOrigin, method: ex.method, path: ex.path, headers, body };
      // 1. Candidate and (sampled) secondary calls run side by side.
      const candCall = callCopy(this.client, copy, policy, this.inflight);
      const secCall = withSecondary && ex.secondaryOrigin !== null ? callCopy(this.client, { ...copy, origin: ex.secondaryOrigin }, policy, this.inflight) : null;
      const cand = await candCall;
      const sec = secCall === null ? null : await secCall;
      const primary: ResponseCopy = { status: ex.primary.status, headers: headersOf(ex.primary.rawHeaders), body: ex.primary.body as Buffer };
      // 2. The noise pair first, so this very comparison can already be judged against it.
      if (sec !== null) this.learnNoise(ex, roles, primary, cand, sec);
      // 3. Candidate outcome.
      if (!cand.ok) {
        const outcome: ShadowOutcome = cand.kind === 'too-large' ? { kind: 'skipped', reason: 'too-large' } : { kind: 'error', reason: cand.reason };
        if (cand.kind === 'failure') this.log.debug({ route: ex.route, endpoint: ex.endpoint, reason: cand.reason }, 'shadow candidate failed');
        this.finish(ex, roles, outcome, null);
        return;
      }
      const cmp = compareResponses(primary, cand.response, policy);
      if (!cmp.ok) {
        this.finish(ex, roles, { kind: 'skipped', reason: 'too-large' }, null);
        return;
      }
      if (cmp.diffs.length === 0) {
        this.finish(ex, roles, MATCHED, null);
        return;
      }
      // 4. Redact before anything is stored: the sample and the diff examples share one Redactor.
      const r = new Redactor(policy);
      const sample: MismatchSample = {
        route: ex.route,
        endpoint: ex.endpoint,
        at: ex.startedAt,
        request: { method: ex.method, path: ex.path, headers: r.headers(ex.headers), body: r.body(ex.requestBody, ex.headers) },
        primary: { status: primary.status, headers: r.headers(primary.headers), body: r.body(primary.body, primary.headers) },
        candidate: { status: cand.response.status, headers: r.headers(cand.response.headers), body: r.body(cand.response.body, cand.response.headers) },
        diffs: r.diffs(cmp.diffs),
      };
      const sealed = r.seal(sample);
      this.finish(ex, roles, { kind: 'compared', diffs: sealed.diffs }, sealed);
    } finally {
      this.buffered -= bytes;
    }
  }

  private learnNoise(ex: ShadowExchange, roles: ComparisonRecord['roles'], primary: ResponseCopy, cand: CallResult, sec: CallResult): void {
    if (!sec.ok) return;
    // The secondary is a second call to the service `noise.secondary` names; compare it with the
    // first response of that same service (the primary in shadow mode, the candidate in live mode).
    const sameService = ex.policy.noise?.secondary === roles.primary ? primary : cand.ok ? cand.response : null;
    if (sameService === null) return;
    const cmp = compareResponses(sameService, sec.response, ex.policy);
    if (!cmp.ok) return;
    const r = new Redactor(ex.policy);
    const diffs = r.seal(r.diffs(cmp.diffs));
    const rec = { route: ex.route, endpoint: ex.endpoint, at: this.clock.now(), diffs };
    this.live.addSecondary(rec);
    this.recorder.recordSecondary(rec);
  }

  private finish(ex: ShadowExchange, roles: ComparisonRecord['roles'], outcome: ShadowOutcome, sample: MismatchSample | null): void {
    const rec: ComparisonRecord = { route: ex.route, endpoint: ex.endpoint, roles, at: this.clock.now(), outcome, sample };
    this.live.addComparison(rec);
    this.recorder.recordComparison(rec);
    this.metrics.comparison(ex.route, this.resultOf(ex, outcome));
  }

  private resultOf(ex: ShadowExchange, outcome: ShadowOutcome): ComparisonResult {
    if (outcome.kind === 'error') return 'error';
    if (outcome.kind === 'skipped') return 'skipped';
    if (outcome.diffs.length === 0) return 'match';
    const e = this.live.endpoints.get(`${ex.route}\u0000${ex.endpoint}`);
    if (!e) return 'mismatch';
    const compared = e.counters.get(COUNTER.compared) ?? 0;
    const secondary = e.counters.get(COUNTER.secondary) ?? 0;
    const { fields } = fieldsOf(outcome.diffs as DiffEntry[]);
    const allNoise = fields.every((f) => {
      const stat = e.fields.get(f);
      return stat !== undefined && isNoise(stat, compared, secondary, this.thresholds);
    });
    return allNoise ? 'noise-only' : 'mismatch';
  }
}
