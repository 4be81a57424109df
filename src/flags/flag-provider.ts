/**
 * The one seam between the router and the flag providers (local file, LaunchDarkly).
 *
 * Evaluation runs per request, so the shape is chosen for the hot path:
 * - `evaluate` returns `FlagResult | Promise<FlagResult>`. The local provider always answers
 *   synchronously (a map lookup and a hash, no allocation: results are preallocated per
 *   variation). The LaunchDarkly SDK v9 only offers promise-returning evaluation
 *   (`variationDetail`, `allFlagsState`), so its provider returns a promise. Callers test
 *   `isPromise(result)` and await only then; the local path never pays for a microtask.
 *   We considered reading LD's in-memory store synchronously through the SDK's callback form, but
 *   that would rely on the SDK invoking callbacks synchronously — an internal detail, not API.
 * - Expected failures are values, never exceptions: an unknown flag, a context without a key, a
 *   provider that is not ready yet all come back as `{ value: null, reason }`. A provider that
 *   throws or rejects is a bug; the decider still catches it and serves the route default.
 */

/** Why a provider answered the way it did. Anything but `evaluated` means "serve the default". */
export type FlagReason = 'evaluated' | 'flag-unknown' | 'context-key-missing' | 'provider-not-ready' | 'error';

export interface FlagResult {
  /**
   * The variation value as a string: booleans become "true"/"false", strings stay as they are
   * (so the migration modes legacy|shadow|live|migrated work as variations), numbers are printed,
   * anything else is JSON. `null` when the flag produced no value.
   */
  readonly value: string | null;
  readonly reason: FlagReason;
}

/**
 * What a flag is evaluated against, built by the router from the request (header:, cookie:,
 * query:, ip sources). A source that is absent from the request is `null`, never a missing field,
 * so every context has the same shape.
 */
export interface FlagContext {
  readonly kind: string;
  readonly key: string | null;
  readonly attributes: Readonly<Record<string, string | null>>;
}

export type ProviderName = 'local' | 'launchdarkly';

export interface FlagProvider {
  readonly name: ProviderName;
  /** Never throws, never rejects. Synchronous for the local provider. */
  evaluate(flagKey: string, context: FlagContext): FlagResult | Promise<FlagResult>;
  /** True once the provider has flag data (the local file loaded; LaunchDarkly initialised). */
  ready(): boolean;
  /** Loads/connects. Resolves even when a remote source is unreachable (see each provider). */
  start(): Promise<void>;
  /** Stops watchers, timers and connections. Idempotent. */
  close(): Promise<void>;
}

export function isPromise<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

/** The migration modes a variation may name, walking a route legacy → shadow → live → migrated. */
export const MIGRATION_MODES = ['legacy', 'shadow', 'live', 'migrated'] as const;
export type MigrationMode = (typeof MIGRATION_MODES)[number];

export function isMigrationMode(value: string | null): value is MigrationMode {
  return value === 'legacy' || value === 'shadow' || value === 'live' || value === 'migrated';
}

/** Shared, frozen failure results: a failed evaluation allocates nothing. */
export const FAILED: Readonly<Record<Exclude<FlagReason, 'evaluated'>, FlagResult>> = Object.freeze({
  'flag-unknown': Object.freeze({ value: null, reason: 'flag-unknown' }),
  'context-key-missing': Object.freeze({ value: null, reason: 'context-key-missing' }),
  'provider-not-ready': Object.freeze({ value: null, reason: 'provider-not-ready' }),
  error: Object.freeze({ value: null, reason: 'error' }),
});

/** Renders any variation value the way FlagResult.value documents. */
export function variationToString(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean' || typeof value === 'number') return String(value);
  return JSON.stringify(value);
}
