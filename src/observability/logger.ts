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
  /** Where lines go; by default stdout, buffered when FICUS_LOG_BUFFER is set (`bufferedDestination`). */
  readonly destination?: DestinationStream;
}

/** How often a buffered log is written out even when its buffer is not full. */
export const LOG_FLUSH_MS = 200;
const MAX_LOG_BUFFER = 1024 * 1024;

export function createLogger(options: LoggerOptions = {}): Logger {
  const opts: pino.LoggerOptions = {
    level: options.level ?? process.env.FICUS_LOG_LEVEL ?? 'info',
    messageKey: 'message',
    base: { service: options.service ?? 'ficus' },
    timestamp: () => `,"timestamp":"${new Date().toISOString()}"`,
    formatters: { level: (label) => ({ level: label }) },
  };
  if (options.destination) return pino(opts, options.destination);
  const bufferBytes = logBufferFromEnv(process.env.FICUS_LOG_BUFFER);
  return bufferBytes > 0 ? pino(opts, bufferedDestination(process.stdout.fd ?? 1, bufferBytes)) : pino(opts);
}

/**
 * A file descriptor or path written in blocks of `bytes`, and at least every LOG_FLUSH_MS, instead
 * of a write per line: an access line per request otherwise costs a write system call (through
 * libuv's thread pool) per request. pino writes what is left when the process exits; a hard kill
 * loses at most the last LOG_FLUSH_MS of lines.
 */
export function bufferedDestination(target: number | string, bytes: number): ReturnType<typeof pino.destination> {
  // sonic-boom wants its largest write above the buffer size
  const dest = pino.destination({ dest: target, sync: false, minLength: bytes, maxWrite: Math.max(16_384, bytes * 2) });
  const timer = setInterval(() => {
    try {
      dest.flush();
    } catch {
      // not open yet or already closed: the next tick or the exit flush writes it
    }
  }, LOG_FLUSH_MS);
  timer.unref();
  dest.on('close', () => clearInterval(timer));
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
