import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateYaml } from '../../../src/config/load-yaml-file.js';
import { formatProblems } from '../../../src/config/problems.js';
import { s, toJsonSchema } from '../../../src/config/schema.js';
import type { FlagsSectionConfig } from '../../../src/flags/flags-config.js';
import { checkFlagsSection, checkRouteFlag, compileFlagsSection, flagsSectionSchema, routeFlagSchema } from '../../../src/flags/flags-config.js';
import { validateFlagFiles } from '../../../src/flags/validate-flag-files.js';

// A miniature rules file embedding the two pieces the way the rules schema does.
const rulesSchema = s.object({
  flags: flagsSectionSchema,
  routes: s.array(s.object({ name: s.string(), flag: routeFlagSchema })),
});

function validate(text: string) {
  return validateYaml<{ flags: FlagsSectionConfig }>(text, 'rules.yaml', rulesSchema, (value, v) => {
    if (value.flags !== undefined) checkFlagsSection(value.flags, v);
    (Array.isArray(value.routes) ? value.routes : []).forEach((r: { flag?: unknown }, i: number) =>
      checkRouteFlag(r.flag, v, ['routes', i, 'flag'], ['orders', 'legacy', 'shadow', 'live', 'migrated']));
  });
}

describe('rules file flags pieces', () => {
  it('accepts the issue example', () => {
    const r = validate([
      'flags:',
      '  provider: local',
      '  file: rules/flags.yaml',
      '  redis: { url: "redis://127.0.0.1:6379", keyPrefix: "ficus:flags", pollInterval: 500ms }',
      'routes:',
      '  - name: orders',
      '    flag:',
      '      key: orders-migration',
      '      context: { kind: user, key: header:x-user-id, attributes: { tenant: header:x-tenant } }',
      '      variations: { "true": orders, "false": legacy }',
      '      default: legacy',
    ].join('\n'));
    expect(r.ok ? [] : formatProblems(r.problems)).toEqual([]);
  });

  it('reports every mistake in the flags and route flag blocks, located', () => {
    const r = validate([
      'flags:', //                                                     1
      '  provider: launchdarkley', //                                  2
      '  redis: { url: "http://x" }', //                               3
      'routes:', //                                                    4
      '  - name: orders', //                                           5
      '    flag:', //                                                  6
      '      key: orders-migration', //                                7
      '      context: { kind: multi, key: header, attributes: { key: ip } }', // 8
      '      variations: { "true": order, "false": legacy }', //       9
      '      defualt: legacy', //                                     10
    ].join('\n'));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(formatProblems(r.problems).split('\n')).toEqual([
      'rules.yaml:2:13: "flags.provider" must be one of local, launchdarkly, got "launchdarkley" (did you mean "launchdarkly"?)',
      'rules.yaml:3:17: "flags.redis.url" must be a redis:// or rediss:// URL, got "http://x"',
      'rules.yaml:7:7: "routes[0].flag" is missing required key "default"',
      'rules.yaml:8:24: "routes[0].flag.context.kind" cannot be "multi" (reserved by LaunchDarkly)',
      'rules.yaml:8:36: "routes[0].flag.context.key" must be a request source: header:NAME, cookie:NAME, query:NAME or ip, got "header"',
      'rules.yaml:8:58: context attribute "key" is reserved; pick another name',
      'rules.yaml:9:29: "routes[0].flag.variations.true" names "order", which is neither an upstream nor a mode (did you mean "orders"?)',
      'rules.yaml:10:7: unknown key "defualt" in "routes[0].flag" (did you mean "default"?)',
    ]);
  });

  it('checks provider-specific keys', () => {
    const local = validate('flags:\n  provider: local\n  launchdarkly: { sdkKeyEnv: LD }\n');
    expect(local.ok ? '' : formatProblems(local.problems)).toBe([
      'rules.yaml:2:3: "flags" with provider local needs "file" (the flags file)',
      'rules.yaml:3:3: "flags.launchdarkly" only applies to provider launchdarkly',
    ].join('\n'));
    const ld = validate('flags:\n  provider: launchdarkly\n  file: x.yaml\n  redis: { url: "redis://h" }\n');
    expect(ld.ok ? '' : formatProblems(ld.problems)).toContain('rules.yaml:3:3: "flags.file" is the local flags file; for LaunchDarkly offline data use "flags.launchdarkly.file"');
    expect(ld.ok ? '' : formatProblems(ld.problems)).toContain('rules.yaml:4:3: "flags.redis" overrides only apply to provider local');
  });

  it('compiles with defaults and paths resolved against the base directory', () => {
    expect(compileFlagsSection({ provider: 'local', file: 'rules/flags.yaml', redis: { url: 'redis://h:6379' } }, '/srv/ficus')).toEqual({
      provider: 'local', file: '/srv/ficus/rules/flags.yaml', redis: { url: 'redis://h:6379', keyPrefix: 'ficus:flags', pollIntervalMs: 1000 },
    });
    expect(compileFlagsSection({ provider: 'launchdarkly', launchdarkly: { file: '/abs/ld.json', initTimeout: '2s' } }, '/srv')).toEqual({
      provider: 'launchdarkly', sdkKeyEnv: 'LD_SDK_KEY', file: '/abs/ld.json', initTimeoutMs: 2000, baseUri: null, streamUri: null, eventsUri: null, sendEvents: null,
    });
  });

  it('publishes JSON Schema for editors', () => {
    const json = toJsonSchema(flagsSectionSchema) as { properties: Record<string, unknown>; required: string[] };
    expect(Object.keys(json.properties)).toEqual(['provider', 'file', 'redis', 'launchdarkly']);
    expect(json.required).toEqual(['provider']);
  });
});

describe('validateFlagFiles (for ficus validate)', () => {
  let dir: string;
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'ficus-validate-')); });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  it('reports the local flags file problems and route flags it does not define', async () => {
    const file = join(dir, 'flags.yaml');
    await writeFile(file, 'flags:\n  a: { rollout: 5 }\n');
    const at = { file: 'rules.yaml', line: 7, col: 12 };
    expect(await validateFlagFiles({ provider: 'local', file, redis: null }, new Map([['a', at], ['b', at]]))).toEqual([
      { ...at, message: `flag "b" is not defined in ${file}; the route will always serve its default` },
    ]);
    await writeFile(file, 'flags:\n  a: { rollout: five }\n');
    expect(formatProblems(await validateFlagFiles({ provider: 'local', file, redis: null }))).toBe(`${file}:2:17: "flags.a.rollout" must be a number, got string`);
    expect(formatProblems(await validateFlagFiles({ provider: 'local', file: join(dir, 'missing.yaml'), redis: null }))).toContain('cannot read file: file not found');
  });

  it('checks a LaunchDarkly offline file parses and has the file data source shape', async () => {
    const file = join(dir, 'ld.json');
    const settings = { provider: 'launchdarkly' as const, sdkKeyEnv: 'K', file, initTimeoutMs: 1, baseUri: null, streamUri: null, eventsUri: null, sendEvents: null };
    await writeFile(file, '{\n  "flagValues": { "a": true },\n  "flagz": {}\n}\n');
    expect(formatProblems(await validateFlagFiles(settings))).toBe(`${file}:3:3: unknown key "flagz" in a LaunchDarkly flag data file (expected flags, flagValues, segments)`);
    await writeFile(file, '{ "flagValues": { "a": true }\n');
    expect((await validateFlagFiles(settings))[0]).toMatchObject({ file, line: expect.any(Number) });
  });
});
