import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { bufferedDestination, createLogger, isoTimestamp, LOG_FLUSH_MS, logBufferFromEnv, logDestination } from '../../../src/observability/logger.js';

const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { n: number });

describe('log destination', () => {
  it('writes each line before the log call returns: on the logging thread, not through a pool thread', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ficus-log-')), 'out.log');
    const dest = logDestination(file, 0);
    const log = pino({ base: null, timestamp: false }, dest);
    for (let n = 0; n < 3; n++) {
      log.info({ n }, 'x');
      expect(lines(file).map((l) => l.n)).toEqual(Array.from({ length: n + 1 }, (_, i) => i));
    }
    dest.end();
  });

  it('buffers with FICUS_LOG_BUFFER bytes, and a full block is written before the call returns', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ficus-log-')), 'out.log');
    const dest = logDestination(file, 1024);
    const log = pino({ base: null, timestamp: false }, dest);
    log.info({ n: 0 }, 'x');
    expect(readFileSync(file, 'utf8')).toBe('');
    let n = 1;
    while (readFileSync(file, 'utf8') === '') log.info({ n: n++ }, 'x'.repeat(50));
    // the line that filled the block went out with every line before it, in order
    expect(lines(file).map((l) => l.n)).toEqual(Array.from({ length: n }, (_, i) => i));
    dest.end();
  });
});

describe('buffered log destination', () => {
  it('holds lines until its buffer fills or the flush interval passes, and loses none', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ficus-log-')), 'out.log');
    const dest = bufferedDestination(file, 4096);
    const log = pino({ base: null, timestamp: false }, dest);
    await new Promise((r) => setTimeout(r, 50)); // the file is opened asynchronously
    for (let n = 0; n < 3; n++) log.info({ n }, 'x');
    // three short lines do not fill 4 KiB: nothing is written yet
    expect(readFileSync(file, 'utf8')).toBe('');
    await new Promise((r) => setTimeout(r, LOG_FLUSH_MS * 3));
    expect(lines(file).map((l) => l.n)).toEqual([0, 1, 2]);
    // a burst larger than the buffer goes out too, every line once and in order
    for (let n = 3; n < 203; n++) log.info({ n }, 'x');
    for (let i = 0; i < 50 && lines(file).length < 203; i++) await new Promise((r) => setTimeout(r, LOG_FLUSH_MS / 2));
    expect(lines(file).map((l) => l.n)).toEqual(Array.from({ length: 203 }, (_, i) => i));
    dest.end();
  });

  it('writes what is still buffered when the process exits', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ficus-log-')), 'out.log');
    const logger = new URL('../../../dist/src/observability/logger.js', import.meta.url).href;
    // a process that logs three short lines into a 64 KiB buffer and exits at once, before any flush
    const script = `import pino from 'pino'; import { bufferedDestination } from ${JSON.stringify(logger)};
      const log = pino({ base: null, timestamp: false }, bufferedDestination(process.argv[1], 65536));
      for (let n = 0; n < 3; n++) log.info({ n }, 'x');
      process.exit(0);`;
    execFileSync(process.execPath, ['--input-type=module', '-e', script, file], { cwd: new URL('../../..', import.meta.url) });
    expect(lines(file).map((l) => l.n)).toEqual([0, 1, 2]);
  });

  it('takes buffers up to the largest FICUS_LOG_BUFFER allows', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ficus-log-'));
    for (const bytes of [65_536, 1_048_576]) bufferedDestination(join(dir, `${bytes}.log`), bytes).end();
  });
});

describe('FICUS_LOG_BUFFER', () => {
  it('takes a whole number of bytes, 0 or unset for a write per line', () => {
    expect(logBufferFromEnv(undefined)).toBe(0);
    expect(logBufferFromEnv('')).toBe(0);
    expect(logBufferFromEnv('4096')).toBe(4096);
  });

  it('names the variable and the bad value', () => {
    for (const bad of ['abc', '-1', '1.5', '99999999']) {
      expect(() => logBufferFromEnv(bad)).toThrow(`FICUS_LOG_BUFFER: expected a number of bytes from 0 to 1048576, got "${bad}"`);
    }
  });
});

describe('log timestamps', () => {
  it('formats each millisecond once, and a new one as soon as the clock moves', () => {
    const t = Date.UTC(2026, 10, 30, 12, 0, 0, 5);
    expect(isoTimestamp(t)).toBe(',"timestamp":"2026-11-30T12:00:00.005Z"');
    expect(isoTimestamp(t)).toBe(isoTimestamp(t));
    expect(isoTimestamp(t + 1)).toBe(',"timestamp":"2026-11-30T12:00:00.006Z"');
    expect(isoTimestamp(t)).toBe(',"timestamp":"2026-11-30T12:00:00.005Z"');
  });

  it('stamps every line with the current time', () => {
    const out: string[] = [];
    const log = createLogger({ destination: { write: (l: string) => void out.push(l) } });
    const before = Date.now();
    log.info('one');
    const after = Date.now();
    const at = Date.parse((JSON.parse(out[0]) as { timestamp: string }).timestamp);
    expect(at).toBeGreaterThanOrEqual(before);
    expect(at).toBeLessThanOrEqual(after);
  });
});
