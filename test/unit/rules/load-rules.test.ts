import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatProblem } from '../../../src/config/problems.js';
import { parseRules } from '../../../src/rules/load-rules.js';

const BASE = `version: 1
upstreams:
  legacy: { url: http://127.0.0.1:3000 }
  users: { url: http://127.0.0.1:4000 }
`;

function problems(text: string): string[] {
  const r = parseRules(text, 'rules.yaml');
  return r.ok ? [] : r.problems.map(formatProblem);
}

// [mistake, rules text, expected "line:col: message" fragment]
const MISTAKES: [string, string, RegExp][] = [
  ['unknown upstream in to', `${BASE}routes:\n  - { name: a, to: user }\n`, /^rules\.yaml:6:20: unknown upstream "user" \(did you mean "users"\?\)/],
  ['unknown upstream in split', `${BASE}routes:\n  - name: a\n    split: [ { to: legacy, weight: 50 }, { to: nope, weight: 50 } ]\n`, /:7:48: unknown upstream "nope"/],
  ['unknown default upstream', `${BASE}default: legcy\n`, /:5:10: unknown upstream "legcy" \(did you mean "legacy"\?\)/],
  ['duplicate route name', `${BASE}routes:\n  - { name: a, to: users }\n  - { name: a, to: legacy }\n`, /:7:13: duplicate route name "a"/],
  ['pattern without leading slash', `${BASE}routes:\n  - { name: a, to: users, match: { path: api/x } }\n`, /must start with "\/"/],
  ['** in the middle', `${BASE}routes:\n  - { name: a, to: users, match: { path: /a/**/b } }\n`, /"\*\*" is only allowed as the last segment/],
  ['* mixed with text', `${BASE}routes:\n  - { name: a, to: users, match: { path: /a/b* } }\n`, /"\*" must be a whole segment/],
  ['bad param name', `${BASE}routes:\n  - { name: a, to: users, match: { path: /a/:1x } }\n`, /is not a valid parameter/],
  ['repeated param', `${BASE}routes:\n  - { name: a, to: users, match: { path: /a/:id/:id } }\n`, /parameter ":id" appears twice/],
  ['empty segment', `${BASE}routes:\n  - { name: a, to: users, match: { path: /a//b } }\n`, /empty segment/],
  ['weights not summing to 100', `${BASE}routes:\n  - name: a\n    split: [ { to: legacy, weight: 50 }, { to: users, weight: 40 } ]\n`, /:7:12: split weights of route "a" sum to 90, they must sum to 100/],
  ['unknown top-level key', `${BASE}rotes: []\n`, /:5:1: unknown key "rotes" in the file \(did you mean "routes"\?\)/],
  ['unknown route key', `${BASE}routes:\n  - { name: a, to: users, matc: { path: /a } }\n`, /unknown key "matc" in "routes\[0\]" \(did you mean "match"\?\)/],
  ['unknown match key', `${BASE}routes:\n  - { name: a, to: users, match: { methds: [GET] } }\n`, /unknown key "methds" .*did you mean "methods"/],
  ['unknown upstream key', `version: 1\nupstreams:\n  u: { url: http://127.0.0.1:1, timout: 5s }\n`, /:3:33: unknown key "timout" .*did you mean "timeout"/],
  ['upstream without url', `version: 1\nupstreams:\n  u: { timeout: 5s }\n`, /is missing required key "url"/],
  ['upstream url with a path', `version: 1\nupstreams:\n  u: { url: http://127.0.0.1:1/api }\n`, /must be an origin/],
  ['bad duration', `version: 1\nupstreams:\n  u: { url: http://127.0.0.1:1, timeout: soon }\n`, /must be a duration like 5s or 250ms, got "soon"/],
  ['wrong version', `version: 2\nupstreams: {}\n`, /"version" must be at most 1, got 2/],
  ['missing upstreams', `version: 1\n`, /is missing required key "upstreams"/],
  ['route with no target', `${BASE}routes:\n  - { name: a, match: { path: /a } }\n`, /route "a" needs one of to, split/],
  ['route with two targets', `${BASE}routes:\n  - name: a\n    to: users\n    split: [ { to: users, weight: 100 } ]\n`, /sets both to and split/],
  ['sticky without split', `${BASE}routes:\n  - { name: a, to: users, sticky: ip }\n`, /sets sticky without split/],
  ['bad sticky source', `${BASE}routes:\n  - name: a\n    split: [ { to: users, weight: 100 } ]\n    sticky: session\n`, /must be header:NAME, cookie:NAME, query:NAME or ip/],
  ['bad method', `${BASE}routes:\n  - { name: a, to: users, match: { methods: ["GET /"] } }\n`, /must be an HTTP method/],
  ['bad host pattern', `${BASE}routes:\n  - { name: a, to: users, match: { host: "a..b" } }\n`, /must be a host name or \*\.domain/],
  ['bad rewrite prefix', `${BASE}routes:\n  - { name: a, to: users, rewrite: { addPrefix: v2/ } }\n`, /rewrite\.addPrefix "v2\/" must start with "\/"/],
  ['stripPrefix that can never apply', `${BASE}routes:\n  - { name: a, to: users, match: { path: /api/** }, rewrite: { stripPrefix: /other } }\n`, /can never apply/],
  ['weight out of range', `${BASE}routes:\n  - name: a\n    split: [ { to: users, weight: 150 }, { to: legacy, weight: -50 } ]\n`, /must be at most 100/],
  ['same upstream twice in a split', `${BASE}routes:\n  - name: a\n    split: [ { to: users, weight: 50 }, { to: users, weight: 50 } ]\n`, /lists upstream "users" twice/],
  ['list where a mapping belongs', `version: 1\nupstreams: [a, b]\n`, /"upstreams" must be a mapping, got array/],
  ['YAML syntax error', `version: 1\nupstreams:\n  a: { url: http://x\n`, /^rules\.yaml:\d+:\d+: /],
  ['duplicate YAML key', `version: 1\nversion: 1\nupstreams: {}\n`, /:2:1: .*[Uu]nique/],
  ['mode without to', `${BASE}routes:\n  - { name: a, mode: shadow, split: [ { to: users, weight: 100 } ] }\ndefault: legacy\n`, /sets mode without "to"/],
  ['mode without a legacy upstream', `${BASE}routes:\n  - { name: a, to: users, mode: shadow }\n`, /names no legacy upstream/],
  ['shadow settings that never apply', `${BASE}routes:\n  - { name: a, to: users, shadow: { sample: 0.5 } }\n`, /has shadow settings but never shadows/],
  ['flag without a flags section', `${BASE}routes:\n  - name: a\n    flag: { key: f, context: { key: ip }, variations: { "true": users }, default: legacy }\n`, /uses a flag but the rules have no "flags:" section/],
  ['flag variation naming nothing', `${BASE}flags: { provider: local, file: f.yaml }\nroutes:\n  - name: a\n    flag: { key: f, context: { key: ip }, variations: { "true": userz }, default: legacy }\n`, /names "userz", which is neither an upstream nor a mode/],
  ['pool size not a whole number', `version: 1\nupstreams:\n  u: { url: http://127.0.0.1:1, pool: 2.5 }\n`, /must be a whole number/],
];

describe('rules validation', () => {
  it('accepts the README example exactly as written', () => {
    const text = readFileSync(new URL('../../../rules/example.yaml', import.meta.url), 'utf8');
    const r = parseRules(text, 'example.yaml');
    expect(r.ok ? [] : r.problems.map(formatProblem)).toEqual([]);
  });

  for (const example of ['orders-flag.yaml', 'users-shadow.yaml']) {
    it(`accepts the issue example rules/${example} as written`, () => {
      const text = readFileSync(new URL(`../../../rules/${example}`, import.meta.url), 'utf8');
      const r = parseRules(text, example);
      expect(r.ok ? [] : r.problems.map(formatProblem)).toEqual([]);
    });
  }

  it(`reports ${MISTAKES.length} distinct mistakes, each located`, () => {
    expect(MISTAKES.length).toBeGreaterThanOrEqual(20);
  });

  for (const [what, text, expected] of MISTAKES) {
    it(`reports ${what}`, () => {
      const found = problems(text);
      expect(found.some((p) => expected.test(p)), `got:\n${found.join('\n')}`).toBe(true);
      for (const p of found) expect(p).toMatch(/^rules\.yaml:\d+:\d+: \S/);
    });
  }

  it('reports every problem of a file at once, in file order', () => {
    const found = problems(`version: 1
upstreams:
  legacy: { url: http://127.0.0.1:3000, timout: 1s }
routes:
  - { name: a, to: nobody }
  - { name: a, to: legacy, match: { path: /x/**/y } }
default: missing
`);
    expect(found).toHaveLength(5);
    const lines = found.map((p) => Number(p.split(':')[1]));
    expect(lines).toEqual([...lines].sort((x, y) => x - y));
  });
});
