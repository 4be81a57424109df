import type { Dispatcher } from 'undici';
import { parseDuration } from '../config/duration.js';
import type { KeySource } from './key-source.js';
import { parseKeySource } from './key-source.js';
import type { PathPattern } from './path-pattern.js';
import { parsePathPattern } from './path-pattern.js';
import type { HeaderOps, RouteConfig, RuleSetConfig, UpstreamConfig } from './rules-config.js';
import { compileRouteFlag } from '../flags/flag-decider.js';
import type { MigrationMode } from '../flags/flag-provider.js';
import { isMigrationMode } from '../flags/flag-provider.js';
import { compileShadowPolicy } from '../shadow/shadow-policy.js';
import type { Decision, HeaderTransform, HostMatcher, RouteModel, RouteTarget, UpstreamModel } from './route-model.js';
import { RouteMatcher } from './route-matcher.js';

/** Defaults in one place; the README's rules reference lists the same values. */
export const UPSTREAM_DEFAULTS = {
  connectTimeoutMs: 5_000,
  headersTimeoutMs: 30_000,
  bodyTimeoutMs: 30_000,
  poolSize: 128,
  breakerFailures: 5,
  breakerCooldownMs: 30_000,
} as const;

export const PROXY_DEFAULTS = {
  trustForwarded: false,
  forwardedHeaders: 'x-forwarded' as 'x-forwarded' | 'forwarded' | 'both' | 'none',
  requestIdHeader: 'x-request-id',
  drainTimeoutMs: 10_000,
};

export interface PoolOptions {
  readonly connections: number;
  readonly connectTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
}

/** Hands out the connection pool for an upstream; equal keys get the same pool across reloads. */
export type PoolProvider = (key: string, origin: string, options: PoolOptions) => Dispatcher;

export interface ProxySettings {
  readonly trustForwarded: boolean;
  readonly forwardedHeaders: 'x-forwarded' | 'forwarded' | 'both' | 'none';
  readonly requestIdHeader: string;
  readonly drainTimeoutMs: number;
}

/**
 * The immutable result of compiling a validated RuleSetConfig. A reload builds a new table and the
 * server swaps one reference; requests in flight keep the table they started with.
 */
export class RouteTable {
  readonly matcher: RouteMatcher;
  constructor(
    readonly version: string,
    readonly routes: readonly RouteModel[],
    readonly upstreams: ReadonlyMap<string, UpstreamModel>,
    /** the route used when none matches, or null (404) */
    readonly fallbackRoute: RouteModel | null,
    readonly settings: ProxySettings,
  ) {
    this.matcher = new RouteMatcher(routes);
  }

  match(method: string, host: string, headers: Readonly<Record<string, string | string[] | undefined>>, segs: readonly string[], segCount: number): RouteModel | null {
    return this.matcher.match(method, host, headers, segs, segCount) ?? this.fallbackRoute;
  }
}

function upstreamModel(name: string, cfg: UpstreamConfig, pools: PoolProvider): UpstreamModel {
  const url = new URL(cfg.url);
  const origin = `${url.protocol}//${url.host}`;
  const connectTimeoutMs = parseDuration(cfg.connectTimeout) ?? UPSTREAM_DEFAULTS.connectTimeoutMs;
  const headersTimeoutMs = parseDuration(cfg.headersTimeout ?? cfg.timeout) ?? UPSTREAM_DEFAULTS.headersTimeoutMs;
  const bodyTimeoutMs = parseDuration(cfg.bodyTimeout) ?? UPSTREAM_DEFAULTS.bodyTimeoutMs;
  const poolSize = cfg.pool ?? UPSTREAM_DEFAULTS.poolSize;
  const poolKey = `${origin}|${poolSize}|${connectTimeoutMs}|${headersTimeoutMs}|${bodyTimeoutMs}`;
  return {
    name,
    origin,
    authority: url.host,
    preserveHost: cfg.host === 'preserve',
    connectTimeoutMs,
    headersTimeoutMs,
    bodyTimeoutMs,
    poolSize,
    poolKey,
    dispatcher: pools(poolKey, origin, { connections: poolSize, connectTimeoutMs, headersTimeoutMs, bodyTimeoutMs }),
    breaker: cfg.breaker
      ? { failures: cfg.breaker.failures ?? UPSTREAM_DEFAULTS.breakerFailures, cooldownMs: parseDuration(cfg.breaker.cooldown) ?? UPSTREAM_DEFAULTS.breakerCooldownMs }
      : null,
  };
}

function headerTransform(ops: HeaderOps | undefined): HeaderTransform | null {
  if (!ops || ((!ops.set || Object.keys(ops.set).length === 0) && (!ops.remove || ops.remove.length === 0))) return null;
  return {
    set: Object.entries(ops.set ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)] as const),
    remove: (ops.remove ?? []).map((h) => h.toLowerCase()),
  };
}

function hostMatcher(host: string | undefined): HostMatcher | null {
  if (host === undefined) return null;
  const h = host.toLowerCase();
  return h.startsWith('*.') ? { exact: null, suffix: h.slice(1) } : { exact: h, suffix: null };
}

function plainTarget(upstream: UpstreamModel): RouteTarget {
  return { upstream, candidate: null, shadowMode: null, mode: null };
}

/** The target of a migration mode, given the route's new service and the monolith. */
function modeTarget(mode: MigrationMode, fresh: UpstreamModel, legacy: UpstreamModel): RouteTarget {
  switch (mode) {
    case 'legacy':
      return { upstream: legacy, candidate: null, shadowMode: null, mode };
    case 'shadow':
      return { upstream: legacy, candidate: fresh, shadowMode: 'shadow', mode };
    case 'live':
      return { upstream: fresh, candidate: legacy, shadowMode: 'live', mode };
    case 'migrated':
      return { upstream: fresh, candidate: null, shadowMode: null, mode };
  }
}

function keySource(spec: string): KeySource {
  const k = parseKeySource(spec);
  if (k === null) throw new Error(`compileRoute called with an unvalidated key source "${spec}"`);
  return k;
}

function decision(route: RouteConfig, upstreams: ReadonlyMap<string, UpstreamModel>, defaultUpstream: string | undefined): Decision {
  const fresh = route.to !== undefined ? upstreams.get(route.to)! : null;
  const legacyName = route.legacy ?? defaultUpstream;
  const legacy = legacyName !== undefined ? upstreams.get(legacyName)! : null;
  // A choice naming an upstream is that upstream; otherwise it is a migration mode.
  const choose = (choice: string): RouteTarget => {
    const named = upstreams.get(choice);
    if (named !== undefined) return plainTarget(named);
    if (isMigrationMode(choice) && fresh !== null && legacy !== null) return modeTarget(choice, fresh, legacy);
    throw new Error(`compileRoute called with an unvalidated flag choice "${choice}"`);
  };

  if (route.flag) {
    const flag = compileRouteFlag(route.name, route.flag);
    const targets = new Map<string, RouteTarget>();
    for (const choice of [...Object.values(route.flag.variations), route.flag.default]) if (!targets.has(choice)) targets.set(choice, choose(choice));
    return {
      kind: 'flag',
      flag,
      context: {
        kind: flag.contextKind,
        key: keySource(flag.contextKey),
        attributes: flag.contextAttributes.map(([name, src]) => [name, keySource(src)] as const),
      },
      targets,
      fallbackTarget: targets.get(route.flag.default)!,
    };
  }
  if (route.split) {
    let acc = 0;
    const cumulative: number[] = [];
    const targets: RouteTarget[] = [];
    for (const part of route.split) {
      acc += Math.round(part.weight * 100);
      cumulative.push(acc);
      targets.push(plainTarget(upstreams.get(part.to)!));
    }
    cumulative[cumulative.length - 1] = 10_000; // guard against rounding
    const sticky: KeySource | null = route.sticky ? parseKeySource(route.sticky) : null;
    return { kind: 'split', targets, cumulative, sticky };
  }
  if (route.mode !== undefined && fresh !== null && legacy !== null) return { kind: 'single', target: modeTarget(route.mode, fresh, legacy) };
  return { kind: 'single', target: plainTarget(fresh!) };
}

function canShadow(d: Decision): boolean {
  if (d.kind === 'single') return d.target.shadowMode !== null;
  if (d.kind === 'flag') return [...d.targets.values()].some((t) => t.shadowMode !== null);
  return false;
}

export function compileRoute(route: RouteConfig, index: number, upstreams: ReadonlyMap<string, UpstreamModel>, defaultUpstream?: string): RouteModel {
  let pattern: PathPattern | null = null;
  if (route.match?.path !== undefined) {
    const parsed = parsePathPattern(route.match.path);
    if (!parsed.ok) throw new Error(`compileRoute called with an unvalidated pattern: ${parsed.message}`);
    pattern = parsed.pattern;
  }
  const d = decision(route, upstreams, defaultUpstream);
  return {
    name: route.name,
    index,
    priority: route.priority ?? 0,
    pattern,
    endpointPattern: pattern?.source ?? '/**',
    methods: route.match?.methods ? route.match.methods.map((m) => m.toUpperCase()) : null,
    host: hostMatcher(route.match?.host),
    headers: route.match?.headers ? Object.entries(route.match.headers).map(([k, v]) => [k.toLowerCase(), String(v)] as const) : null,
    decision: d,
    shadow: canShadow(d) ? compileShadowPolicy(route.shadow) : null,
    fallback: route.fallback !== undefined ? upstreams.get(route.fallback)! : null,
    stripPrefix: route.rewrite?.stripPrefix ?? null,
    addPrefix: route.rewrite?.addPrefix && route.rewrite.addPrefix !== '/' ? route.rewrite.addPrefix : null,
    requestHeaders: headerTransform(route.headers?.request),
    responseHeaders: headerTransform(route.headers?.response),
  };
}

/** Compiles a config that has passed validation. Throws only on a bug (an unvalidated config). */
export function compileRouteTable(config: RuleSetConfig, version: string, pools: PoolProvider): RouteTable {
  const upstreams = new Map<string, UpstreamModel>();
  for (const [name, cfg] of Object.entries(config.upstreams)) upstreams.set(name, upstreamModel(name, cfg, pools));
  const routes = (config.routes ?? []).map((r, i) => compileRoute(r, i, upstreams, config.default));
  const fallbackRoute: RouteModel | null = config.default
    ? compileRoute({ name: 'default', to: config.default }, routes.length, upstreams)
    : null;
  const p = config.proxy ?? {};
  const settings: ProxySettings = {
    trustForwarded: p.trustForwarded ?? PROXY_DEFAULTS.trustForwarded,
    forwardedHeaders: p.forwardedHeaders ?? PROXY_DEFAULTS.forwardedHeaders,
    requestIdHeader: (p.requestIdHeader ?? PROXY_DEFAULTS.requestIdHeader).toLowerCase(),
    drainTimeoutMs: parseDuration(p.drainTimeout) ?? PROXY_DEFAULTS.drainTimeoutMs,
  };
  return new RouteTable(version, routes, upstreams, fallbackRoute, settings);
}
