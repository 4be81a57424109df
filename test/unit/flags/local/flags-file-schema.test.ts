import { describe, expect, it } from 'vitest';
import { formatProblems } from '../../../../src/config/problems.js';
import { loadFlagsFile, validateFlagsFile } from '../../../../src/flags/local/flags-file-schema.js';
import { compileFlagsFile, evaluateLocal } from '../../../../src/flags/local/local-flag-model.js';
import { validateFlagFiles } from '../../../../src/flags/validate-flag-files.js';

describe('flags file validation', () => {
  it('accepts a file using every feature', () => {
    const r = validateFlagsFile(
      [
        'flags:',
        '  orders-migration:',
        '    description: move orders',
        '    on: true',
        '    rollout: 20.5',
        '    salt: v2',
        '    allow: { keys: [alice], attributes: { tenant: [acme, globex], plan: gold } }',
        '    deny: { keys: [mallory] }',
        '  payments-mode:',
        '    variations: [legacy, shadow, live, migrated]',
        '    variation: shadow',
        '    fallthrough: legacy',
        '    offVariation: legacy',
        '  bool-explicit:',
        '    variations: [true, false]',
        '    variation: false',
        '',
      ].join('\n'),
      'flags.yaml',
    );
    expect(r.ok).toBe(true);
  });

  it('reports every mistake in one pass, each located FILE:LINE:COL, with did-you-mean for unknown keys', () => {
    const text = [
      'flags:', //                                       1
      '  orders-migration:', //                          2
      '    on: yes', //                                  3  not a boolean (YAML 1.2: a string)
      '    rolout: 20', //                               4  typo
      '  payments:', //                                  5
      '    variations: [legacy, shadow, live]', //       6
      '    variation: shadw', //                         7  not a variation
      '    rollout: 120', //                             8  out of range
      '  "bad key!":', //                                9  key characters
      '    allow: { key: [a] }', //                     10  typo in allow
      '  modes:', //                                    11
      '    variations: [legacy, shadow, legacy]', //    12  duplicate
      '',
    ].join('\n');
    const r = validateFlagsFile(text, 'rules/flags.yaml');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(formatProblems(r.problems).split('\n')).toEqual([
      'rules/flags.yaml:3:9: "flags.orders-migration.on" must be a boolean, got string',
      'rules/flags.yaml:4:5: unknown key "rolout" in "flags.orders-migration" (did you mean "rollout"?)',
      'rules/flags.yaml:6:5: "flags.payments" must set "fallthrough": its variations are not true/false, so there is no default',
      'rules/flags.yaml:7:16: "flags.payments.variation" is "shadw", which is not one of its variations (legacy, shadow, live) (did you mean "shadow"?)',
      'rules/flags.yaml:8:14: "flags.payments.rollout" must be at most 100, got 120',
      'rules/flags.yaml:9:3: flag key "bad key!" may only contain letters, digits, ".", "_" and "-"',
      'rules/flags.yaml:10:14: unknown key "key" in "flags.bad key!.allow" (did you mean "keys"?)',
      'rules/flags.yaml:12:5: "flags.modes" must set "variation": its variations are not true/false, so there is no default',
      'rules/flags.yaml:12:5: "flags.modes" must set "fallthrough": its variations are not true/false, so there is no default',
      'rules/flags.yaml:12:34: "flags.modes" lists variation "legacy" twice',
    ]);
  });

  it('reports a YAML syntax error with its position and a missing flags key', () => {
    const syntax = validateFlagsFile('flags:\n  a: [unclosed\n', 'f.yaml');
    expect(syntax.ok).toBe(false);
    if (!syntax.ok) expect(syntax.problems[0]).toMatchObject({ file: 'f.yaml', line: expect.any(Number) });
    const empty = validateFlagsFile('flag: {}\n', 'f.yaml');
    expect(empty.ok).toBe(false);
    if (!empty.ok) {
      expect(formatProblems(empty.problems)).toContain('f.yaml:1:1: unknown key "flag" in the file (did you mean "flags"?)');
      expect(formatProblems(empty.problems)).toContain('is missing required key "flags"');
    }
  });
});

describe('the example flags files in rules/', () => {
  it('rules/flags.yaml is valid and behaves as its comments say', async () => {
    const loaded = await loadFlagsFile(new URL('../../../../rules/flags.yaml', import.meta.url).pathname);
    expect(loaded.ok ? [] : formatProblems(loaded.problems)).toEqual([]);
    if (!loaded.ok) return;
    const m = compileFlagsFile(loaded.value);
    const ctx = (key: string, tenant: string | null = null) => ({ kind: 'user', key, attributes: { tenant } });
    expect(evaluateLocal(m, 'orders-migration', ctx('qa-alice')).value).toBe('true');
    expect(evaluateLocal(m, 'orders-migration', ctx('someone', 'acme')).value).toBe('true');
    expect(evaluateLocal(m, 'orders-migration', ctx('vip-customer-42', 'acme')).value).toBe('false');
    expect(evaluateLocal(m, 'search-v2', ctx('anyone')).value).toBe('false');
    expect(['live', 'shadow']).toContain(evaluateLocal(m, 'payments-mode', ctx('anyone')).value);
  });

  it('rules/ld-flags.json is a valid LaunchDarkly offline file', async () => {
    const file = new URL('../../../../rules/ld-flags.json', import.meta.url).pathname;
    expect(await validateFlagFiles({ provider: 'launchdarkly', sdkKeyEnv: 'LD_SDK_KEY', file, initTimeoutMs: 1000, baseUri: null, streamUri: null, eventsUri: null, sendEvents: null })).toEqual([]);
  });
});
