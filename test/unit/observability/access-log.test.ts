import pino from 'pino';
import type { Logger } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { AccessLog } from '../../../src/observability/access-log.js';
import { createLogger } from '../../../src/observability/logger.js';

/** A logger writing into `lines`, with a fixed timestamp so two lines can be compared byte for byte. */
function capture(options: pino.LoggerOptions = {}): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = pino(
    {
      messageKey: 'message',
      base: { service: 'ficus' },
      timestamp: () => ',"timestamp":"2026-11-30T12:00:00.000Z"',
      formatters: { level: (label) => ({ level: label }) },
      ...options,
    },
    { write: (l: string) => void lines.push(l) },
  );
  return { logger, lines };
}

type Fields = [string, string, string, string, string, string | undefined, string | undefined, number, number, string, string | null];

const CASES: Fields[] = [
  ['4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7', 'req-1', 'users-read', 'users', 'GET', '/api/users/17?x=1', 200, 1.234, 'ok', null],
  ['t', 's', 'id "quoted" \\ back', 'route-ü', 'legacy', 'POST', '/p/\u0001\u001f\t\n"', 502, 0, 'refused', 'breaker-open'],
  ['t', 's', 'x'.repeat(150) + '"', '-', '-', undefined, undefined, 499, 12345.678, 'client-aborted', null],
  ['t', 's', 'r', 'r', 'u', 'GET', '/ÿ€\u007f', 200, Number.NaN, 'ok', 'a"b'],
];

const asObject = (f: Fields) => ({ trace_id: f[0], span_id: f[1], request_id: f[2], route: f[3], upstream: f[4], method: f[5], path: f[6], status: f[7], duration_ms: f[8], outcome: f[9], fallback: f[10] });

describe('AccessLog', () => {
  it('writes the line pino writes for the same fields, byte for byte, bindings included', () => {
    const mine = capture();
    const theirs = capture();
    const child = mine.logger.child({ component: 'proxy' });
    const log = new AccessLog(child);
    // The line is built here, not by pino: a plain logger is never asked.
    const info = vi.spyOn(child, 'info');
    const reference = theirs.logger.child({ component: 'proxy' });
    for (const f of CASES) {
      log.write(...f);
      reference.info(asObject(f), 'request');
    }
    expect(mine.lines).toEqual(theirs.lines);
    expect(info).not.toHaveBeenCalled();
    for (const line of mine.lines) expect(() => JSON.parse(line) as unknown).not.toThrow();
    expect(JSON.parse(mine.lines[1])).toMatchObject({ level: 'info', service: 'ficus', component: 'proxy', request_id: 'id "quoted" \\ back', path: '/p/\u0001\u001f\t\n"', fallback: 'breaker-open', message: 'request' });
  });

  it('writes through the default createLogger options and follows level changes', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'warn', destination: { write: (l: string) => void lines.push(l) } });
    const log = new AccessLog(logger);
    log.write(...CASES[0]);
    expect(lines).toEqual([]);
    logger.level = 'info';
    log.write(...CASES[0]);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ level: 'info', service: 'ficus', route: 'users-read', status: 200, duration_ms: 1.234, fallback: null, message: 'request' });
    logger.level = 'error';
    log.write(...CASES[0]);
    expect(lines).toHaveLength(1);
  });

  it('stops listening to the logger when closed', () => {
    const { logger } = capture();
    const before = logger.listenerCount('level-change');
    const log = new AccessLog(logger);
    expect(logger.listenerCount('level-change')).toBe(before + 1);
    log.close();
    expect(logger.listenerCount('level-change')).toBe(before);
  });

  it('leaves the line to pino when the logger could change it (mixin, redaction, serializer, hook)', () => {
    const options: pino.LoggerOptions[] = [
      { mixin: () => ({ pod: 'p-1' }) },
      { redact: ['request_id'] },
      { serializers: { path: (p: string) => p.toUpperCase() } },
      { hooks: { streamWrite: (s: string) => s.replace('users-read', 'hooked') } },
      { formatters: { level: (label) => ({ severity: label.toUpperCase() }), log: (o) => ({ ...o, extra: true }) } },
    ];
    for (const o of options) {
      const mine = capture(o);
      const theirs = capture(o);
      const log = new AccessLog(mine.logger);
      const info = vi.spyOn(mine.logger, 'info');
      log.write(...CASES[0]);
      expect(info).toHaveBeenCalledTimes(1);
      theirs.logger.info(asObject(CASES[0]), 'request');
      expect(mine.lines).toEqual(theirs.lines);
    }
  });
});
