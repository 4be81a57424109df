import { describe, expect, it } from 'vitest';
import { validateYaml } from '../../../src/config/load-yaml-file.js';
import { formatProblems } from '../../../src/config/problems.js';
import { s, toJsonSchema } from '../../../src/config/schema.js';
import type { ShadowConfig } from '../../../src/shadow/shadow-config.js';
import { SHADOW_DEFAULTS, checkShadowConfig, shadowSchema } from '../../../src/shadow/shadow-config.js';
import { compileShadowPolicy, endpointKey, shadowRoles, shouldShadow } from '../../../src/shadow/shadow-policy.js';

// The lead embeds shadowSchema under each route; this mimics that embedding.
const rulesSchema = s.object({ routes: s.array(s.object({ name: s.string(), mode: s.string(), shadow: shadowSchema })) });

function load(text: string) {
  return validateYaml<{ routes: { shadow: ShadowConfig }[] }>(text, 'rules.yaml', rulesSchema, (value, v) => {
    const routes = value.routes;
    if (Array.isArray(routes)) routes.forEach((r: { shadow?: unknown }, i) => checkShadowConfig(r.shadow, v, ['routes', i, 'shadow']));
  });
}

describe('shadow config', () => {
  it('accepts the block from the issue and compiles it into a frozen policy', () => {
    const loaded = load(`routes:
  - name: users-read
    mode: shadow
    shadow:
      sample: 1.0
      writes: false
      maxBodyBytes: 1048576
      compare:
        headers: [Content-Type, cache-control]
        ignore: ["$.**.updated_at", "$.request_id"]
        unorderedArrays: ["$.items", { path: "$.tags", key: id }]
        numericTolerance: 0.001
      noise: { secondary: legacy }
      redact: ["headers.authorization", "headers.X-Api-Key", "$.password"]
`);
    expect(loaded.ok).toBe(true);
    if (!loaded.ok) return;
    const p = compileShadowPolicy(loaded.value.routes[0].shadow);
    expect(Object.isFrozen(p)).toBe(true);
    expect(p.compareHeaders).toEqual(['content-type', 'cache-control']);
    expect(p.json.ignore.map((g) => g.source)).toEqual(['$.**.updated_at', '$.request_id']);
    expect(p.json.unordered.map((u) => [u.glob.source, u.key])).toEqual([['$.items', null], ['$.tags', 'id']]);
    expect(p.json.numericTolerance).toBe(0.001);
    expect(p.noise).toEqual({ secondary: 'legacy', sample: SHADOW_DEFAULTS.noiseSample });
    expect([...p.redact.headers]).toEqual(expect.arrayContaining(['authorization', 'cookie', 'set-cookie', 'x-api-key']));
    expect(p.redact.json.map((g) => g.source)).toEqual(['$.password']);
  });

  it('publishes the block in the JSON Schema for editors', () => {
    const js = toJsonSchema(shadowSchema) as { properties: Record<string, { properties?: Record<string, unknown> }>; additionalProperties: boolean };
    expect(js.additionalProperties).toBe(false);
    expect(Object.keys(js.properties)).toEqual(expect.arrayContaining(['sample', 'writes', 'maxBodyBytes', 'compare', 'noise', 'redact']));
    expect(js.properties.compare.properties?.unorderedArrays).toMatchObject({ type: 'array', items: { anyOf: [{ type: 'string' }, { type: 'object', required: ['path'] }] } });
  });

  it('fills every default when the block is absent', () => {
    const p = compileShadowPolicy(undefined);
    expect(p.sample).toBe(1);
    expect(p.writes).toBe(false);
    expect(p.maxBodyBytes).toBe(1024 * 1024);
    expect(p.timeoutMs).toBe(SHADOW_DEFAULTS.timeoutMs);
    expect(p.forwardCookies).toBe(false);
    expect(p.forwardAuthorization).toBe(false);
    expect(p.noise).toBeNull();
    expect(compileShadowPolicy({ maxBodyBytes: '2kb', timeout: '250ms' })).toMatchObject({ maxBodyBytes: 2048, timeoutMs: 250 });
  });

  it('reports every mistake, located, including bad globs', () => {
    const loaded = load(`routes:
  - name: r
    mode: shadow
    shadow:
      sampel: 0.5
      sample: 2
      compare:
        ignore: ["updated_at", "$.a[x"]
      noise: { secondary: candidate }
      redact: ["password"]
`);
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    const text = formatProblems(loaded.problems);
    expect(text).toContain('rules.yaml:5:7: unknown key "sampel" in "routes[0].shadow" (did you mean "sample"?)');
    expect(text).toContain('rules.yaml:6:15: "routes[0].shadow.sample" must be at most 1, got 2');
    expect(text).toContain('rules.yaml:8:18: "updated_at" is not a JSON path glob: it must start with "$"');
    expect(text).toContain('"$.a[x" is not a JSON path glob: unclosed "["');
    expect(text).toContain('must be one of legacy, new, got "candidate"');
    expect(text).toContain('"routes[0].shadow.redact[0]" must be headers.NAME or a JSON path like $.password');
    expect(loaded.problems).toHaveLength(6);
  });
});

describe('shouldShadow', () => {
  const policy = compileShadowPolicy({ sample: 0.25 });

  it('never copies writes by default and copies them when allowed', () => {
    expect(shouldShadow('POST', compileShadowPolicy({}), () => 0)).toBe('write-not-allowed');
    expect(shouldShadow('delete', compileShadowPolicy({}), () => 0)).toBe('write-not-allowed');
    expect(shouldShadow('POST', compileShadowPolicy({ writes: true }), () => 0)).toBe('copy');
    expect(shouldShadow('HEAD', compileShadowPolicy({}), () => 0)).toBe('copy');
  });

  it('samples with the injected random source', () => {
    expect(shouldShadow('GET', policy, () => 0.2)).toBe('copy');
    expect(shouldShadow('GET', policy, () => 0.25)).toBe('not-sampled');
    expect(shouldShadow('GET', compileShadowPolicy({ sample: 0 }), () => 0)).toBe('not-sampled');
  });

  it('names roles per mode and groups endpoints by method and pattern', () => {
    expect(shadowRoles('shadow')).toEqual({ primary: 'legacy', candidate: 'new' });
    expect(shadowRoles('live')).toEqual({ primary: 'new', candidate: 'legacy' });
    expect(shadowRoles('legacy')).toBeNull();
    expect(shadowRoles('migrated')).toBeNull();
    expect(endpointKey('get', '/api/users/:id')).toBe('GET /api/users/:id');
  });
});
