import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rulesJsonSchema } from '../../../src/rules/rules-json-schema.js';
import { runCli } from '../../helpers/cli-process.js';

const dir = mkdtempSync(join(tmpdir(), 'ficus-validate-'));

describe('ficus validate', () => {
  it('exits 0 for a valid file', async () => {
    const r = await runCli(['validate', 'rules/example.yaml']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('rules/example.yaml: ok');
  });

  it('exits 1 and prints one FILE:LINE:COL line per problem, all at once', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, `version: 1
upstreams:
  legacy: { url: http://127.0.0.1:3000 }
routes:
  - { name: a, to: legacyy }
  - { name: a, to: legacy, match: { path: /x/**/y } }
  - name: c
    split: [ { to: legacy, weight: 60 } ]
defualt: legacy
`);
    const r = await runCli(['validate', file]);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toEqual([
      `${file}:5:20: unknown upstream "legacyy" (did you mean "legacy"?)`,
      `${file}:6:13: duplicate route name "a" (first used by route #1)`,
      `${file}:6:43: path pattern "/x/**/y": "**" is only allowed as the last segment`,
      `${file}:8:12: split weights of route "c" sum to 60, they must sum to 100`,
      `${file}:9:1: unknown key "defualt" in the file (did you mean "default"?)`,
    ]);
  });

  it('reports a missing file as a located problem', async () => {
    const r = await runCli(['validate', join(dir, 'missing.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/missing\.yaml:1:1: cannot read file: file not found/);
  });

  it('prints the JSON Schema, identical to the published rules/ficus-rules.schema.json', async () => {
    const r = await runCli(['schema']);
    expect(r.code).toBe(0);
    const printed = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(printed).toEqual(rulesJsonSchema());
    const published = JSON.parse(readFileSync(new URL('../../../rules/ficus-rules.schema.json', import.meta.url), 'utf8')) as unknown;
    expect(published).toEqual(printed);
  });

  it('has --help on every command', async () => {
    for (const cmd of ['start', 'validate', 'schema']) {
      const r = await runCli([cmd, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Usage: ficus ${cmd}`);
    }
  });
});
