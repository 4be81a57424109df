import type { Dispatcher } from 'undici';
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

export type Decision =
  | { readonly kind: 'single'; readonly upstream: UpstreamModel }
  | {
      readonly kind: 'split';
      readonly upstreams: readonly UpstreamModel[];
      /** cumulative weights in basis points (0..10000), parallel to upstreams */
      readonly cumulative: readonly number[];
      readonly sticky: KeySource | null;
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
}
