import { parseDuration, parseSize } from '../config/duration.js';
import type { RandomSource } from '../util/clock.js';
import type { JsonDiffRules, UnorderedRule } from './compare/json-diff.js';
import type { PathGlob } from './compare/json-path.js';
import { mustParsePathGlob } from './compare/json-path.js';
import type { RouteMode, ShadowConfig } from './shadow-config.js';
import { SHADOW_DEFAULTS } from './shadow-config.js';

export type ServiceLabel = 'legacy' | 'new';

/**
 * The compiled, immutable shadow settings of one route: everything the forwarder and the
 * dispatcher read per request is precomputed here (globs parsed, header names lower-cased).
 */
export interface ShadowPolicy {
  readonly sample: number;
  readonly writes: boolean;
  readonly maxBodyBytes: number;
  readonly timeoutMs: number;
  readonly queueSize: number;
  readonly concurrency: number;
  readonly forwardCookies: boolean;
  readonly forwardAuthorization: boolean;
  /** Lower-case response header names compared. */
  readonly compareHeaders: readonly string[];
  readonly json: JsonDiffRules;
  /** Null when no secondary is configured. */
  readonly noise: { readonly secondary: ServiceLabel; readonly sample: number } | null;
  readonly redact: {
    /** Lower-case header names, user list plus the always-redacted credential headers. */
    readonly headers: ReadonlySet<string>;
    readonly json: readonly PathGlob[];
  };
  readonly sampleBodyBytes: number;
}

/** Compiles a validated `shadow:` block (or none: every default) into a frozen policy. */
export function compileShadowPolicy(config: ShadowConfig | undefined | null): ShadowPolicy {
  const c = config ?? {};
  const cmp = c.compare ?? {};
  const unordered: UnorderedRule[] = (cmp.unorderedArrays ?? []).map((u) =>
    typeof u === 'string' ? { glob: mustParsePathGlob(u), key: null } : { glob: mustParsePathGlob(u.path), key: u.key ?? null },
  );
  const redactHeaders = new Set(SHADOW_DEFAULTS.alwaysRedactHeaders);
  const redactJson: PathGlob[] = [];
  for (const r of c.redact ?? []) {
    if (r.startsWith('headers.')) redactHeaders.add(r.slice('headers.'.length).toLowerCase());
    else redactJson.push(mustParsePathGlob(r));
  }
  const policy: ShadowPolicy = {
    sample: c.sample ?? SHADOW_DEFAULTS.sample,
    writes: c.writes ?? SHADOW_DEFAULTS.writes,
    maxBodyBytes: c.maxBodyBytes !== undefined ? must(parseSize(c.maxBodyBytes), 'maxBodyBytes') : SHADOW_DEFAULTS.maxBodyBytes,
    timeoutMs: c.timeout !== undefined ? must(parseDuration(c.timeout), 'timeout') : SHADOW_DEFAULTS.timeoutMs,
    queueSize: c.queueSize ?? SHADOW_DEFAULTS.queueSize,
    concurrency: c.concurrency ?? SHADOW_DEFAULTS.concurrency,
    forwardCookies: c.forward?.cookies ?? SHADOW_DEFAULTS.forwardCookies,
    forwardAuthorization: c.forward?.authorization ?? SHADOW_DEFAULTS.forwardAuthorization,
    compareHeaders: Object.freeze((cmp.headers ?? SHADOW_DEFAULTS.compareHeaders).map((h) => h.toLowerCase())),
    json: Object.freeze({
      ignore: Object.freeze((cmp.ignore ?? SHADOW_DEFAULTS.ignore).map(mustParsePathGlob)),
      unordered: Object.freeze(unordered),
      numericTolerance: cmp.numericTolerance ?? SHADOW_DEFAULTS.numericTolerance,
      maxDiffs: SHADOW_DEFAULTS.maxDiffs,
    }),
    noise: c.noise?.secondary ? Object.freeze({ secondary: c.noise.secondary, sample: c.noise.sample ?? SHADOW_DEFAULTS.noiseSample }) : null,
    redact: Object.freeze({ headers: redactHeaders, json: Object.freeze(redactJson) }),
    sampleBodyBytes: c.sampleBodyBytes !== undefined ? must(parseSize(c.sampleBodyBytes), 'sampleBodyBytes') : SHADOW_DEFAULTS.sampleBodyBytes,
  };
  return Object.freeze(policy);
}

function must(v: number | null, key: string): number {
  // Validation ran before compilation, so a bad value here is a bug, not user input.
  if (v === null) throw new Error(`shadow.${key} reached compilation unvalidated`);
  return v;
}

/** Who answers and who is compared, per mode. Null: nothing is shadowed in that mode. */
export function shadowRoles(mode: RouteMode): { readonly primary: ServiceLabel; readonly candidate: ServiceLabel } | null {
  switch (mode) {
    case 'shadow':
      return SHADOW_ROLES;
    case 'live':
      return LIVE_ROLES;
    case 'legacy':
    case 'migrated':
      return null;
  }
}
const SHADOW_ROLES = Object.freeze({ primary: 'legacy', candidate: 'new' } as const);
const LIVE_ROLES = Object.freeze({ primary: 'new', candidate: 'legacy' } as const);

/** RFC 9110 §9.2.1 safe methods: the only ones copied unless `writes: true`. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

export type ShadowDecision = 'copy' | 'write-not-allowed' | 'not-sampled';

/**
 * Decided by the forwarder when the request starts, so it only keeps bounded copies of requests
 * that will be shadowed. `random` is injected (tests are exact).
 */
export function shouldShadow(method: string, policy: ShadowPolicy, random: RandomSource): ShadowDecision {
  if (!policy.writes && !SAFE_METHODS.has(method.toUpperCase())) return 'write-not-allowed';
  if (policy.sample >= 1) return 'copy';
  if (policy.sample <= 0) return 'not-sampled';
  return random() < policy.sample ? 'copy' : 'not-sampled';
}

/** Endpoint grouping: method + the route's pattern with parameters, e.g. `GET /api/users/:id`. */
export function endpointKey(method: string, pattern: string): string {
  return `${method.toUpperCase()} ${pattern}`;
}
