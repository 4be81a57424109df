import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { shadowDelta } from '../../../../examples/demo/admin-client.js';
import { Checks, mark } from '../../../../examples/demo/checks.js';
import { CANARY_FLAG, canaryRolloutPercent, prepareStageFiles, repoRoot, STAGES } from '../../../../examples/demo/stage-files.js';
import { answererOf } from '../../../../examples/demo/traffic.js';

describe('demo: who answered', () => {
  it('tells the monolith (sends name, even null) from the users service (never does), and anything else apart', () => {
    expect(answererOf(200, { data: { id: 'a', email: 'x', name: null } })).toBe('legacy');
    expect(answererOf(200, { data: { id: 'a', email: 'x' } })).toBe('users');
    expect(answererOf(404, { error: { code: 'USER_NOT_FOUND' } })).toBe('other');
    expect(answererOf(200, { data: [] })).toBe('other');
    expect(answererOf(502, 'bad gateway')).toBe('other');
  });
});

describe('demo: checks', () => {
  it('is ok only when at least one check ran and none failed', () => {
    const c = new Checks();
    expect(c.ok).toBe(false);
    expect(c.check('a', true, '')).toBe(true);
    expect(c.ok).toBe(true);
    expect(c.check('b', false, 'why')).toBe(false);
    expect(c.ok).toBe(false);
    expect(c.failed.map((f) => f.name)).toEqual(['b']);
    expect(mark(false, 'x')).toBe('FAIL (expected x)');
  });
});

describe('demo: shadow deltas', () => {
  it('subtracts the cumulative counters and ranks what the stage added', () => {
    const before = { compared: 10, matched: 4, errors: 1, dropped: 0, skipped: 0, fields: { '$.data.email': { count: 6, example: 1 } } };
    const after = { compared: 30, matched: 10, errors: 1, dropped: 2, skipped: 0, fields: { '$.data.email': { count: 16, example: 1 }, status: { count: 12, example: 2 } } };
    const d = shadowDelta(before, after);
    expect(d).toMatchObject({ compared: 20, matched: 6, errors: 0, dropped: 2 });
    expect(d.topField).toEqual({ field: 'status', count: 12, example: 2 });
  });
});

describe('demo: stage files', () => {
  it('copies every stage with only the upstream URLs replaced, and writes the canary flag off, then on', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ficus-demo-unit-'));
    const s = prepareStageFiles(dir, { legacy: 'http://127.0.0.1:1111', users: 'http://127.0.0.1:2222' });
    for (const stage of STAGES) {
      const copy = parse(s.text(stage)) as { upstreams: Record<string, { url: string }> };
      const original = parse(readFileSync(join(repoRoot(), 'rules', `${stage}.yaml`), 'utf8')) as typeof copy;
      expect(copy.upstreams.legacy.url).toBe('http://127.0.0.1:1111');
      expect(copy.upstreams.users.url).toBe('http://127.0.0.1:2222');
      copy.upstreams.legacy.url = original.upstreams.legacy.url;
      copy.upstreams.users.url = original.upstreams.users.url;
      expect(copy).toEqual(original);
    }
    const flag = () => (parse(readFileSync(s.flagsFile, 'utf8')) as { flags: Record<string, { on: boolean }> }).flags[CANARY_FLAG].on;
    expect(flag()).toBe(false);
    s.setCanary(true);
    expect(flag()).toBe(true);
    s.write('users-4-live');
    expect(readFileSync(s.activeFile, 'utf8')).toBe(s.text('users-4-live'));
    expect(canaryRolloutPercent()).toBe(10);
  });

  it('says which file lacks an upstream it must replace', () => {
    const root = mkdtempSync(join(tmpdir(), 'ficus-demo-root-'));
    mkdirSync(join(root, 'rules'));
    cpSync(join(repoRoot(), 'rules'), join(root, 'rules'), { recursive: true });
    writeFileSync(join(root, 'rules/users-2-shadow.yaml'), readFileSync(join(root, 'rules/users-2-shadow.yaml'), 'utf8').replace('  users:', '  usrs:'));
    expect(() => prepareStageFiles(mkdtempSync(join(tmpdir(), 'x-')), { legacy: 'http://a:1', users: 'http://b:2' }, root)).toThrow('rules/users-2-shadow.yaml has no upstreams.users.url');
  });
});
