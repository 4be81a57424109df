import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('package entry points', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { main: string; bin: Record<string, string> };

  it('points "main" at the compiled programmatic API', async () => {
    const main = new URL(`../../${pkg.main}`, import.meta.url);
    expect(existsSync(main)).toBe(true);
    const api = (await import(main.href)) as Record<string, unknown>;
    for (const name of ['startFicus', 'loadRulesFile', 'runCdc', 'FicusError']) expect(typeof api[name]).toBe('function');
  });

  it('points the "ficus" bin at the compiled CLI with a node shebang', () => {
    const bin = new URL(`../../${pkg.bin.ficus}`, import.meta.url);
    expect(readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node')).toBe(true);
  });
});
