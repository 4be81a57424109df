import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../../observability/logger.js';
import type { RecordSink } from '../record/shadow-record.js';
import type { ShadowMetrics } from '../shadow-metrics.js';
import type { ShadowPolicy } from '../shadow-policy.js';
import { ShadowDispatcher } from '../shadow-dispatcher.js';
import { RingReader } from './copy-ring.js';
import { decodeRecord } from './exchange-codec.js';
import { EventBatch } from './event-batch.js';
import { observeGc } from './gc-observer.js';
import { lowerThisThread } from './thread-priority.js';
import type { HostMessage, ShadowWorkerData, WorkerEvent, WorkerMessage } from './worker-protocol.js';

/**
 * The shadow worker thread (started by ShadowWorkerHost). It reads copies from the ring, runs them
 * through a ShadowDispatcher (candidate calls, comparison, redaction) at a low thread priority, and
 * sends what the dispatcher records, counts and logs back to the host in batches.
 */
if (parentPort === null) throw new Error('shadow-worker-main.js runs as a worker thread started by ShadowWorkerHost');
const port = parentPort;
const data = workerData as ShadowWorkerData;

/** Events wait at most this long before they travel to the host (idle and close send at once). */
const FLUSH_MS = 50;
/** Records decoded per turn of the worker's event loop, so its sockets are served in between. */
const RECORDS_PER_TURN = 64;
/**
 * While copies keep coming, the worker looks for them every POLL_MS on its own timer, so the main
 * thread never has to wake it; after SLEEP_AFTER_MS without one it sleeps until notified.
 */
const POLL_MS = 2;
const SLEEP_AFTER_MS = 200;

const batch = new EventBatch();
let flushTimer: NodeJS.Timeout | null = null;

/** Sends the batch within FLUSH_MS of its first event. */
function scheduleFlush(): void {
  if (flushTimer === null) flushTimer = setTimeout(flush, FLUSH_MS);
}

function flush(): void {
  if (flushTimer !== null) clearTimeout(flushTimer);
  flushTimer = null;
  if (batch.size === 0) return;
  post({ t: 'events', events: batch.take() });
}

const post = (m: WorkerMessage): void => port.postMessage(m);

function emit(e: WorkerEvent): void {
  batch.push(e);
  scheduleFlush();
}

const recorder: RecordSink = {
  recordComparison: (r) => {
    batch.comparison(r);
    scheduleFlush();
  },
  recordSecondary: (r) => emit({ t: 'secondary', r }),
  recordDropped: (route, endpoint, roles, reason) => emit({ t: 'dropped', route, endpoint, roles, reason }),
};
const metrics: ShadowMetrics = {
  comparison: (route, result) => {
    batch.metricComparison(route, result);
    scheduleFlush();
  },
  dropped: (route, reason) => emit({ t: 'metric-dropped', route, reason }),
  queueDepth: (route, depth) => emit({ t: 'metric-depth', route, depth }),
  workerGc: (kind, n, seconds) => {
    batch.gc(kind, n, seconds);
    scheduleFlush();
  },
};
// This thread's own collections, counted on the host (ficus_shadow_worker_gc_total).
observeGc((kind, seconds) => metrics.workerGc(kind, 1, seconds));
const logger = createLogger({ level: data.logLevel, destination: { write: (line: string) => emit({ t: 'log', line }) } });

const priority = lowerThisThread(data.priority);
if (!priority.ok) logger.warn({ component: 'shadow', priority: data.priority, reason: priority.reason }, 'shadow worker runs at normal priority: could not lower it');
else if (priority.fallback !== undefined) logger.warn({ component: 'shadow', tid: priority.tid, priority: data.priority, applied: priority.applied, reason: priority.fallback }, `shadow worker runs at ${priority.applied}: could not set ${data.priority}`);
else logger.debug({ component: 'shadow', tid: priority.tid, applied: priority.applied }, 'shadow worker started');

const dispatcher = new ShadowDispatcher({
  recorder,
  metrics,
  logger,
  // The host sheds load by the main thread's event loop, the one clients wait on.
  shedAboveUtilization: 1,
  ...(data.noiseThresholds !== null ? { noiseThresholds: data.noiseThresholds } : {}),
  ...(data.maxBufferedBytes !== null ? { maxBufferedBytes: data.maxBufferedBytes } : {}),
});

const reader = new RingReader(data.ring);
const policies = new Map<number, ShadowPolicy>();
let closing = false;

/** Takes up to RECORDS_PER_TURN records off the ring into the dispatcher; returns how many. */
function drainSome(): number {
  let budget = RECORDS_PER_TURN;
  return reader.read((start, end) => {
    if (budget-- === 0) return false;
    try {
      const rec = decodeRecord(reader.buf, start, end, policies);
      if (rec.kind === 'policy') policies.set(rec.id, rec.policy);
      else dispatcher.submit(rec.ex);
    } catch (err) {
      // A malformed record is a bug on one side; skip it, keep the ring moving.
      logger.error({ component: 'shadow', err }, 'shadow worker could not read a copy');
    }
    return true;
  });
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function readLoop(): Promise<void> {
  let emptyPolls = 0;
  while (!closing) {
    const n = drainSome();
    if (n === RECORDS_PER_TURN) {
      await nextTurn();
      continue;
    }
    emptyPolls = n > 0 ? 0 : emptyPolls + 1;
    await reader.wait(emptyPolls * POLL_MS >= SLEEP_AFTER_MS ? null : POLL_MS);
  }
}

/** Until the ring is empty and every copy taken from it is recorded. */
async function settle(): Promise<void> {
  for (;;) {
    while (drainSome() > 0) await nextTurn();
    await dispatcher.idle();
    if (drainSome() === 0) return;
  }
}

port.on('message', (m: HostMessage) => {
  if (m.t === 'idle') {
    void settle().then(() => {
      flush();
      post({ t: 'idle-done', id: m.id });
    });
  } else if (m.t === 'close') {
    closing = true;
    reader.wake();
    void dispatcher.close().then(() => {
      flush();
      post({ t: 'closed', id: m.id });
    });
  }
});

void readLoop();
