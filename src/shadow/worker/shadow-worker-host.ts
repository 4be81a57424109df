import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../observability/logger.js';
import { silentLogger } from '../../observability/logger.js';
import type { Clock } from '../../util/clock.js';
import { systemClock } from '../../util/clock.js';
import type { LoadProbe } from '../load-probe.js';
import { LoadShedder } from '../load-probe.js';
import type { NoiseThresholds } from '../noise/noise-model.js';
import type { ComparisonRecord, DropReason, ShadowRecorder } from '../record/shadow-record.js';
import { MATCHED } from '../record/shadow-record.js';
import type { ShadowEngine, ShadowExchange, SubmitResult } from '../shadow-dispatcher.js';
import { recordDrop } from '../shadow-dispatcher.js';
import type { ShadowMetrics } from '../shadow-metrics.js';
import { noShadowMetrics } from '../shadow-metrics.js';
import { shadowRoles } from '../shadow-policy.js';
import { RingWriter, allocateRing } from './copy-ring.js';
import { PolicyIds, encodeExchange } from './exchange-codec.js';
import { UnfinishedCopies } from './unfinished-copies.js';
import { DEFAULT_THREAD_PRIORITY } from './thread-priority.js';
import type { ThreadPriority } from './thread-priority.js';
import type { HostMessage, ShadowWorkerData, WorkerEvent, WorkerMessage } from './worker-protocol.js';

export interface ShadowWorkerHostOptions {
  readonly recorder: ShadowRecorder;
  readonly metrics?: ShadowMetrics;
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** How far the worker thread yields to the main thread: `idle` (SCHED_IDLE, the default) or a nice value 0-19. */
  readonly priority?: ThreadPriority;
  /** Bytes of copies waiting for the worker (default 16 MiB); a copy that does not fit is dropped (`queue-full`). */
  readonly ringBytes?: number;
  /** As ShadowDispatcherOptions: measured on the main thread, the one clients wait on. */
  readonly shedAboveUtilization?: number;
  readonly loadProbe?: LoadProbe;
  readonly noiseThresholds?: NoiseThresholds;
  readonly maxBufferedBytes?: number;
  /** The worker's entry; by default the compiled shadow-worker-main.js (see workerEntry). */
  readonly entry?: URL;
}

/** After a worker dies, the next one starts no sooner than this; copies wait in the ring meanwhile. */
const RESTART_AFTER_MS = 1_000;

/**
 * Runs the shadow engine in a worker thread at a low priority (SCHED_IDLE by default, see
 * thread-priority.ts), so candidate calls, response parsing, comparison and redaction take CPU time
 * only when the thread serving clients does not want it.
 * The main thread's part of a copy is a load check and writing the exchange into a shared-memory
 * ring (copy-ring.ts): no message, no system call, no garbage. The worker sends back what it records,
 * counts and logs, batched; the recorder, metrics and logger stay on the main thread, where the
 * admin API reads them.
 *
 * Copies that do not fit in the ring while the worker is behind are dropped and counted
 * (`queue-full`), like a full route queue: shadowing backs off, clients do not wait.
 */
export class ShadowWorkerHost implements ShadowEngine {
  private readonly recorder: ShadowRecorder;
  private readonly metrics: ShadowMetrics;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly ringBytes: number;
  /** The ring and what the worker is started with; made with the first copy. */
  private ring: RingWriter | null = null;
  private data: ShadowWorkerData | null = null;
  private readonly priority: ThreadPriority;
  private readonly noiseThresholds: NoiseThresholds | null;
  private readonly maxBufferedBytes: number | null;
  private policyIds = new PolicyIds();
  /** Copies in the ring or in the worker's hands without a result yet: counted as dropped if it dies. */
  private readonly unfinished = new UnfinishedCopies();
  private readonly entry: URL;
  private readonly shedder: LoadShedder;
  private worker: Worker | null = null;
  private restartNotBefore = 0;
  private nextId = 1;
  private readonly waiting = new Map<number, () => void>();
  private closed = false;

  constructor(options: ShadowWorkerHostOptions) {
    this.recorder = options.recorder;
    this.metrics = options.metrics ?? noShadowMetrics;
    this.log = (options.logger ?? silentLogger()).child({ component: 'shadow' });
    this.clock = options.clock ?? systemClock;
    this.ringBytes = options.ringBytes ?? 16 * 1024 * 1024;
    this.priority = options.priority ?? DEFAULT_THREAD_PRIORITY;
    this.noiseThresholds = options.noiseThresholds ?? null;
    this.maxBufferedBytes = options.maxBufferedBytes ?? null;
    this.entry = options.entry ?? workerEntry();
    this.shedder = new LoadShedder(options.shedAboveUtilization ?? 0.85, options.loadProbe);
  }

  submit(ex: ShadowExchange): SubmitResult {
    const roles = shadowRoles(ex.mode);
    if (this.closed || roles === null) return 'dropped';
    try {
      // Bodies the forwarder could not copy in full travel as markers only; the worker records them.
      const tooLarge = ex.requestBody === 'too-large' || ex.primary.body === 'too-large';
      if (!tooLarge && this.shedder.shed()) return this.drop(ex, roles, 'overload');
      const ring = this.ensureWorker();
      const sent = tooLarge ? { ...ex, requestBody: 'too-large' as const, primary: { ...ex.primary, body: 'too-large' as const } } : ex;
      if (encodeExchange(ring, this.policyIds, sent) === 'full') return this.drop(ex, roles, 'queue-full');
      this.unfinished.add(ex.route, ex.endpoint, roles, 1);
      return tooLarge ? 'skipped-too-large' : 'accepted';
    } catch (err) {
      // A bug here must never reach the client's response path.
      this.log.error({ err, route: ex.route }, 'shadow submit failed');
      return 'dropped';
    }
  }

  private drop(ex: ShadowExchange, roles: ComparisonRecord['roles'], reason: DropReason): SubmitResult {
    return recordDrop(this.recorder, this.metrics, ex.route, ex.endpoint, roles, reason);
  }

  /** Resolves when every copy submitted so far has been compared and its results applied here. */
  idle(): Promise<void> {
    return this.ask('idle');
  }

  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    await this.ask('close');
    if (w !== null) await w.terminate();
    this.worker = null;
    this.shedder.close();
  }

  private ask(t: HostMessage['t']): Promise<void> {
    const w = this.worker;
    if (w === null) return Promise.resolve();
    const id = this.nextId++;
    return new Promise<void>((resolve) => {
      this.waiting.set(id, resolve);
      w.postMessage({ t, id } satisfies HostMessage);
    });
  }

  /**
   * The ring, made (with the worker) by the first copy, so a proxy without shadow routes holds
   * neither; starts a worker when none runs and the restart delay has passed.
   */
  private ensureWorker(): RingWriter {
    if (this.ring === null || this.data === null) {
      const memory = allocateRing(this.ringBytes);
      this.ring = new RingWriter(memory);
      this.data = { ring: memory, priority: this.priority, logLevel: this.log.level, noiseThresholds: this.noiseThresholds, maxBufferedBytes: this.maxBufferedBytes };
    }
    if (this.worker !== null || this.clock.now() < this.restartNotBefore) return this.ring;
    let w: Worker;
    try {
      w = new Worker(this.entry, { workerData: this.data });
    } catch (err) {
      // Copies wait in the ring meanwhile; the next attempt comes after the restart delay.
      this.log.error({ err }, 'shadow worker could not start');
      this.restartNotBefore = this.clock.now() + RESTART_AFTER_MS;
      return this.ring;
    }
    // A proxy that is not closed still exits; close() waits for the worker.
    w.unref();
    w.on('message', (m: WorkerMessage) => this.onMessage(m));
    w.on('error', (err) => this.log.error({ err }, 'shadow worker failed'));
    w.on('exit', (code) => this.onExit(w, code));
    this.worker = w;
    return this.ring;
  }

  private onMessage(m: WorkerMessage): void {
    if (m.t === 'events') {
      for (const e of m.events) this.apply(e);
      return;
    }
    const resolve = this.waiting.get(m.id);
    this.waiting.delete(m.id);
    resolve?.();
  }

  private apply(e: WorkerEvent): void {
    switch (e.t) {
      case 'comparison':
        this.unfinished.add(e.r.route, e.r.endpoint, e.r.roles, -1);
        return this.recorder.recordComparison(e.r);
      case 'matched': {
        this.unfinished.add(e.route, e.endpoint, e.roles, -e.n);
        const r: ComparisonRecord = { route: e.route, endpoint: e.endpoint, roles: e.roles, at: e.at, outcome: MATCHED, sample: null };
        return this.recorder.recordComparison(r, e.n);
      }
      case 'secondary':
        return this.recorder.recordSecondary(e.r);
      case 'dropped':
        this.unfinished.add(e.route, e.endpoint, e.roles, -1);
        return this.recorder.recordDropped(e.route, e.endpoint, e.roles, e.reason);
      case 'metric-comparison':
        return this.metrics.comparison(e.route, e.result, e.n);
      case 'metric-dropped':
        return this.metrics.dropped(e.route, e.reason);
      case 'metric-depth':
        return this.metrics.queueDepth(e.route, e.depth);
      case 'metric-gc':
        return this.metrics.workerGc(e.kind, e.n, e.seconds);
      case 'log':
        return relogLine(this.log, e.line);
    }
  }

  /**
   * The worker ended: on close() as asked, otherwise it failed. The copies it had not finished
   * (unread in the ring, or waiting on a candidate) are lost: each is recorded and counted as
   * dropped (`worker-failed`). A new worker starts with an empty ring on a later copy, at most once
   * a second.
   */
  private onExit(w: Worker, code: number): void {
    if (this.worker !== w) return;
    this.worker = null;
    for (const resolve of this.waiting.values()) resolve();
    this.waiting.clear();
    if (this.closed) return;
    let lost = 0;
    for (const u of this.unfinished.takeAll()) {
      lost += u.n;
      for (let i = 0; i < u.n; i++) recordDrop(this.recorder, this.metrics, u.route, u.endpoint, u.roles, 'worker-failed');
    }
    this.log.error({ code, lost }, 'shadow worker exited; the copies it had not finished are counted as dropped (worker-failed), a new worker starts with the next copy');
    this.ring?.reset();
    this.policyIds = new PolicyIds();
    this.restartNotBefore = this.clock.now() + RESTART_AFTER_MS;
  }
}

/** Fields the host's own logger adds again. */
const OWN_FIELDS = new Set(['level', 'timestamp', 'time', 'service', 'message', 'msg', 'component', 'pid', 'hostname']);

/** Writes a worker's JSON log line through the host's logger, at its level. */
function relogLine(log: Logger, line: string): void {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(line) as Record<string, unknown>;
  } catch {
    log.warn({ line }, 'shadow worker wrote a log line that is not JSON');
    return;
  }
  const fields: Record<string, unknown> = {};
  for (const k in parsed) if (!OWN_FIELDS.has(k)) fields[k] = parsed[k];
  const message = typeof parsed.message === 'string' ? parsed.message : '';
  switch (parsed.level) {
    case 'fatal':
    case 'error':
      return log.error(fields, message);
    case 'warn':
      return log.warn(fields, message);
    case 'debug':
    case 'trace':
      return log.debug(fields, message);
    default:
      return log.info(fields, message);
  }
}

/**
 * The compiled worker entry next to this file. Run from the TypeScript sources (the test suite),
 * there is no .js beside this file: the entry is taken from dist/, which the suite builds first.
 */
export function workerEntry(): URL {
  const here = import.meta.url;
  const url = here.endsWith('.ts') ? new URL('../../../dist/src/shadow/worker/shadow-worker-main.js', here) : new URL('./shadow-worker-main.js', here);
  if (!existsSync(fileURLToPath(url))) throw new Error(`the shadow worker's entry ${fileURLToPath(url)} is missing; run npm run build`);
  return url;
}
