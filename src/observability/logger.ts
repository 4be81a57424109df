import pino from 'pino';
import type { DestinationStream, Logger } from 'pino';
import { ficusError } from '../errors.js';

export type { Logger } from 'pino';

/**
 * JSON logs in the shape the monolith's teams already ship:
 * `timestamp, service, trace_id, span_id, level, message` plus structured fields.
 * Disabled levels cost nothing (pino replaces them with no-ops).
 */
export interface LoggerOptions {
  readonly service?: string;
  readonly level?: string;
  /** Where lines go; by default stdout (`logDestination`), buffered when FICUS_LOG_BUFFER is set. */
  readonly destination?: DestinationStream;
}

/** How often a buffered log is written out even when its buffer is not full. */
export const LOG_FLUSH_MS = 200;
const MAX_LOG_BUFFER = 1024 * 1024;

let stampedAt = Number.NaN;
let stamp = '';

/**
 * pino's timestamp field, `,"timestamp":"2026-11-30T12:00:00.000Z"`, made once per millisecond and
 * reused by every line within it: Date's toISOString formats through snprintf, ~0.5 µs a call,
 * half of an access line's cost before it was cached.
 */
export function isoTimestamp(now: number = Date.now()): string {
  if (now !== stampedAt) {
    stampedAt = now;
    stamp = `,"timestamp":"${new Date(now).toISOString()}"`;
  }
  return stamp;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const opts: pino.LoggerOptions = {
    level: options.level ?? process.env.FICUS_LOG_LEVEL ?? 'info',
    messageKey: 'message',
    base: { service: options.service ?? 'ficus' },
    timestamp: isoTimestamp,
    formatters: { level: (label) => ({ level: label }) },
  };
  if (options.destination) return pino(opts, options.destination);
  return pino(opts, logDestination(process.stdout.fd ?? 1, logBufferFromEnv(process.env.FICUS_LOG_BUFFER)));
}

type Destination = ReturnType<typeof pino.destination>;

/**
 * Where ficus writes its log lines (stdout by default): a file descriptor or path, written
 * synchronously by the thread that logs, a write(2) per line, or with `bufferBytes` > 0 per block of
 * that size and at least every LOG_FLUSH_MS (`bufferedDestination`).
 *
 * Synchronous, as nginx writes its access log and as Node writes its own stdout to files and
 * terminals. The alternative, pino's default, hands every write to a libuv pool thread: that costs a
 * wake-up of that thread per write, and when other work holds the other cores (a shadow worker
 * under SCHED_IDLE, say), the woken thread is placed on the event loop's core and preempts it.
 * Measured with two SCHED_IDLE busy loops beside a proxy at a paced rate: 1.1–1.2 preemptions of the
 * event loop per request and a client p99 of 7.4–8.0 ms with a pool write per line, 0.02 and
 * 3.6–5.8 ms with a synchronous write (README, Performance). The price: a reader that stops reading
 * stdout stalls ficus once the pipe's buffer is full, as it would stall nginx, instead of letting
 * unwritten lines pile up in memory.
 */
export function logDestination(target: number | string, bufferBytes: number): Destination {
  return bufferBytes > 0 ? bufferedDestination(target, bufferBytes) : pino.destination({ dest: target, sync: true });
}

/**
 * A file descriptor or path written in blocks of `bytes`, and at least every LOG_FLUSH_MS, instead
 * of a write per line. Synchronous like logDestination; what is left is written when the process
 * exits, so a hard kill loses at most the last LOG_FLUSH_MS of lines.
 */
export function bufferedDestination(target: number | string, bytes: number): Destination {
  // sonic-boom wants its largest write above the buffer size
  const dest = pino.destination({ dest: target, sync: true, minLength: bytes, maxWrite: Math.max(16_384, bytes * 2) });
  // flush() writes what is buffered (synchronously here); flushSync() also fsyncs a file, which
  // is worth it once at exit but not five times a second.
  const timer = setInterval(() => {
    try {
      dest.flush();
    } catch {
      // already closed: nothing is left to write
    }
  }, LOG_FLUSH_MS);
  timer.unref();
  // pino flushes at exit only the destinations it writes asynchronously
  const atExit = (): void => {
    try {
      dest.flushSync();
    } catch {
      // already closed: nothing is left to write
    }
  };
  process.on('exit', atExit);
  dest.on('close', () => {
    clearInterval(timer);
    process.removeListener('exit', atExit);
  });
  return dest;
}

/** FICUS_LOG_BUFFER: a whole number of bytes, 0 (the default) to write every line at once. */
export function logBufferFromEnv(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return 0;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > MAX_LOG_BUFFER) {
    throw ficusError('FICUS_ERR_CONFIG_INVALID', `FICUS_LOG_BUFFER: expected a number of bytes from 0 to ${MAX_LOG_BUFFER}, got "${value}"`);
  }
  return n;
}

/** A logger that drops everything; for tests and quiet tools. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
