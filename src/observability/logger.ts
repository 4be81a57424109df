import pino from 'pino';
import type { DestinationStream, Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * JSON logs in the shape the monolith's teams already ship:
 * `timestamp, service, trace_id, span_id, level, message` plus structured fields.
 * Disabled levels cost nothing (pino replaces them with no-ops).
 */
export interface LoggerOptions {
  readonly service?: string;
  readonly level?: string;
  readonly destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const opts: pino.LoggerOptions = {
    level: options.level ?? process.env.FICUS_LOG_LEVEL ?? 'info',
    messageKey: 'message',
    base: { service: options.service ?? 'ficus' },
    timestamp: () => `,"timestamp":"${new Date().toISOString()}"`,
    formatters: { level: (label) => ({ level: label }) },
  };
  return options.destination ? pino(opts, options.destination) : pino(opts);
}

/** A logger that drops everything; for tests and quiet tools. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
