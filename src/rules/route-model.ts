import type { Dispatcher } from 'undici';
import type { MigrationMode } from '../flags/flag-provider.js';
import type { RouteFlag } from '../flags/flag-decider.js';
import type { ShadowPolicy } from '../shadow/shadow-policy.js';
import type { KeySource } from './key-source.js';
import type { PathPattern } from './path-pattern.js';

/** The compiled, immutable model the hot path reads. Built by compileRouteTable; never mutated. */
export interface UpstreamModel {
  readonly name: string;
  /** e.g. http://127.0.0.1:4000 */
  readonly origin: string;
  /** host[:port] of the origin, for the Host header when not preserving */
  readonly authority: string;
  readonly preserveHost: boolean;
  readonly connectTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  readonly poolSize: number;
  /** identifies the connection pool; equal keys share a pool across reloads */
  readonly poolKey: string;
  readonly dispatcher: Dispatcher;
  /** null when the upstream has no circuit breaker */
  readonly breaker: { readonly failures: number; readonly cooldownMs: number } | null;
}

export interface HeaderTransform {
  /** lower-cased names with their values */
  readonly set: readonly (readonly [string, string])[];
  /** lower-cased names */
  readonly remove: readonly string[];
}

/**
 * Where a request goes: the upstream that answers the client and, in shadow/live modes, the
 * candidate that gets a copy. Precomputed for every choice a route can make.
 */
export interface RouteTarget {
  readonly upstream: UpstreamModel;
  readonly candidate: UpstreamModel | null;
  /** shadow: legacy answers, new is the candidate; live: new answers, legacy is the candidate */
  readonly shadowMode: 'shadow' | 'live' | null;
  /** the migration mode that produced this target, or null for a plain upstream */
  readonly mode: MigrationMode | null;
}

/** The context a flag is evaluated against, and where each part comes from in the request. */
export interface FlagContextSpec {
  readonly kind: string;
  readonly key: KeySource;
  readonly attributes: readonly (readonly [string, KeySource])[];
}

export type Decision =
  | { readonly kind: 'single'; readonly target: RouteTarget }
  | {
      readonly kind: 'split';
      readonly targets: readonly RouteTarget[];
      /** cumulative weights in basis points (0..10000), parallel to targets */
      readonly cumulative: readonly number[];
      readonly sticky: KeySource | null;
    }
  | {
      readonly kind: 'flag';
      readonly flag: RouteFlag;
      readonly context: FlagContextSpec;
      /** choice (upstream name or mode) → target */
      readonly targets: ReadonlyMap<string, RouteTarget>;
      /** the target of the flag's `default` */
      readonly fallbackTarget: RouteTarget;
    };

export type HostMatcher = { readonly exact: string; readonly suffix: null } | { readonly exact: null; readonly suffix: string };

export interface RouteModel {
  readonly name: string;
  /** position in the file, for ties */
  readonly index: number;
  readonly priority: number;
  readonly pattern: PathPattern | null;
  /** the route's path pattern for grouping (e.g. /api/users/:id), or "/**" */
  readonly endpointPattern: string;
  /** upper-case methods, or null for any */
  readonly methods: readonly string[] | null;
  readonly host: HostMatcher | null;
  /** lower-cased header name and required value ("*" = present) */
  readonly headers: readonly (readonly [string, string])[] | null;
  readonly decision: Decision;
  /** serves the request when the chosen upstream fails to connect or its circuit is open */
  readonly fallback: UpstreamModel | null;
  readonly stripPrefix: string | null;
  readonly addPrefix: string | null;
  readonly requestHeaders: HeaderTransform | null;
  readonly responseHeaders: HeaderTransform | null;
  /** compiled `shadow:` settings for routes that can shadow (static or flag mode), else null */
  readonly shadow: ShadowPolicy | null;
}
