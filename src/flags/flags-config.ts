import { isAbsolute, resolve } from 'node:path';
import { didYouMean } from '../config/did-you-mean.js';
import { parseDuration } from '../config/duration.js';
import type { Schema, SchemaValidator } from '../config/schema.js';
import { formatPath, s } from '../config/schema.js';
import type { PathKey } from '../config/yaml-source.js';
import { DEFAULT_KEY_PREFIX, DEFAULT_POLL_INTERVAL_MS } from './local/redis-overrides.js';

/**
 * The rules file's pieces about flags, for the rules schema to embed:
 * - `flagsSectionSchema` + `checkFlagsSection` for the top-level `flags:` block (which provider);
 * - `routeFlagSchema` + `checkRouteFlag` for a route's `flag:` block (which flag decides the route).
 * And their compiled forms (`FlagsSettings`, and `RouteFlag` in flag-decider.ts).
 */

export interface FlagsSectionConfig {
  readonly provider: 'local' | 'launchdarkly';
  readonly file?: string;
  readonly redis?: { readonly url: string; readonly keyPrefix?: string; readonly pollInterval?: string | number };
  readonly launchdarkly?: {
    readonly sdkKeyEnv?: string;
    readonly file?: string;
    readonly initTimeout?: string | number;
    readonly baseUri?: string;
    readonly streamUri?: string;
    readonly eventsUri?: string;
    readonly sendEvents?: boolean;
  };
}

const httpUri = { pattern: /^https?:\/\/\S+$/, patternHint: 'an http(s) URL' };

export const flagsSectionSchema: Schema = s.object(
  {
    provider: s.string({ enum: ['local', 'launchdarkly'], description: 'where flags come from' }),
    file: s.string({ description: 'local provider: the flags file (hot-reloaded)' }),
    redis: s.object(
      {
        url: s.string({ pattern: /^rediss?:\/\/\S+$/, patternHint: 'a redis:// or rediss:// URL', description: 'shared runtime overrides for local flags' }),
        keyPrefix: s.string({ description: `Redis key prefix (default ${DEFAULT_KEY_PREFIX}; overrides live in <prefix>:overrides)` }),
        pollInterval: s.duration({ description: 'fallback re-read of the overrides (default 1s)' }),
      },
      { required: ['url'] },
    ),
    launchdarkly: s.object({
      sdkKeyEnv: s.string({ pattern: /^[A-Za-z_][A-Za-z0-9_]*$/, patternHint: 'an environment variable name', description: 'environment variable holding the SDK key (default LD_SDK_KEY)' }),
      file: s.string({ description: 'offline flag data (JSON or YAML) through the SDK file data source' }),
      initTimeout: s.duration({ description: 'start anyway after this long without flag data (default 5s)' }),
      baseUri: s.string({ ...httpUri, description: 'polling/base URI, e.g. a Relay Proxy' }),
      streamUri: s.string({ ...httpUri, description: 'streaming URI, e.g. a Relay Proxy' }),
      eventsUri: s.string({ ...httpUri, description: 'analytics events URI' }),
      sendEvents: s.boolean({ description: 'send analytics events (default: true online, false with a file)' }),
    }),
  },
  { required: ['provider'] },
);

/** Cross-field checks for the `flags:` block; call from the rules file's SemanticCheck. */
export function checkFlagsSection(value: unknown, v: SchemaValidator, path: readonly PathKey[] = ['flags']): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
  const f = value as FlagsSectionConfig;
  const where = formatPath(path);
  if (f.provider === 'local') {
    if (f.file === undefined) v.report(path, `"${where}" with provider local needs "file" (the flags file)`);
    if (f.launchdarkly !== undefined) v.report([...path, 'launchdarkly'], `"${where}.launchdarkly" only applies to provider launchdarkly`, true);
  }
  if (f.provider === 'launchdarkly') {
    if (f.redis !== undefined) v.report([...path, 'redis'], `"${where}.redis" overrides only apply to provider local (LaunchDarkly streams its own changes)`, true);
    if (f.file !== undefined) v.report([...path, 'file'], `"${where}.file" is the local flags file; for LaunchDarkly offline data use "${where}.launchdarkly.file"`, true);
  }
}

/** The compiled `flags:` block: paths resolved, durations in milliseconds, defaults filled in. */
export type FlagsSettings =
  | {
      readonly provider: 'local';
      readonly file: string;
      readonly redis: { readonly url: string; readonly keyPrefix: string; readonly pollIntervalMs: number } | null;
    }
  | {
      readonly provider: 'launchdarkly';
      readonly sdkKeyEnv: string;
      readonly file: string | null;
      readonly initTimeoutMs: number;
      readonly baseUri: string | null;
      readonly streamUri: string | null;
      readonly eventsUri: string | null;
      readonly sendEvents: boolean | null;
    };

export const DEFAULT_LD_INIT_TIMEOUT_MS = 5000;
export const DEFAULT_SDK_KEY_ENV = 'LD_SDK_KEY';

/** Compiles a validated `flags:` block; relative paths resolve against `baseDir`. */
export function compileFlagsSection(config: FlagsSectionConfig, baseDir: string): FlagsSettings {
  const path = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  if (config.provider === 'local') {
    return {
      provider: 'local',
      file: path(config.file ?? 'flags.yaml'),
      redis: config.redis
        ? { url: config.redis.url, keyPrefix: config.redis.keyPrefix ?? DEFAULT_KEY_PREFIX, pollIntervalMs: parseDuration(config.redis.pollInterval ?? DEFAULT_POLL_INTERVAL_MS) ?? DEFAULT_POLL_INTERVAL_MS }
        : null,
    };
  }
  const ld = config.launchdarkly ?? {};
  return {
    provider: 'launchdarkly',
    sdkKeyEnv: ld.sdkKeyEnv ?? DEFAULT_SDK_KEY_ENV,
    file: ld.file !== undefined ? path(ld.file) : null,
    initTimeoutMs: parseDuration(ld.initTimeout ?? DEFAULT_LD_INIT_TIMEOUT_MS) ?? DEFAULT_LD_INIT_TIMEOUT_MS,
    baseUri: ld.baseUri ?? null,
    streamUri: ld.streamUri ?? null,
    eventsUri: ld.eventsUri ?? null,
    sendEvents: ld.sendEvents ?? null,
  };
}

// ---- a route's `flag:` block --------------------------------------------------------------

export interface RouteFlagConfig {
  readonly key: string;
  readonly context: {
    readonly kind?: string;
    /** Where the context key comes from: header:NAME, cookie:NAME, query:NAME or ip. */
    readonly key: string;
    readonly attributes?: Readonly<Record<string, string>>;
  };
  /** Variation value → upstream name or migration mode. */
  readonly variations: Readonly<Record<string, string>>;
  /** Served when the flag cannot be evaluated or yields a value not listed in `variations`. */
  readonly default: string;
}

const contextSource = s.string({
  pattern: /^(?:(?:header|cookie|query):[^\s:]+|ip)$/,
  patternHint: 'a request source: header:NAME, cookie:NAME, query:NAME or ip',
});

export const CONTEXT_KIND = /^[A-Za-z0-9._-]+$/;

export const routeFlagSchema: Schema = s.object(
  {
    key: s.string({ pattern: /^[A-Za-z0-9._-]+$/, patternHint: 'a flag key (letters, digits, ".", "_", "-")', description: 'the flag that decides this route' }),
    context: s.object(
      {
        kind: s.string({ pattern: CONTEXT_KIND, patternHint: 'a context kind like user or tenant', description: 'context kind (default user)' }),
        key: { ...contextSource, description: 'the request value that identifies the context (and buckets rollouts)' },
        attributes: s.map(contextSource, { description: 'attribute name → request source' }),
      },
      { required: ['key'] },
    ),
    variations: s.map(s.string(), { description: 'variation value → upstream or mode (legacy, shadow, live, migrated)' }),
    default: s.string({ description: 'upstream or mode when the flag cannot be evaluated' }),
  },
  { required: ['key', 'context', 'variations', 'default'] },
);

/**
 * Cross-field checks for a route's `flag:` block. `choices` are the names a variation may map to
 * (the rules' upstream names plus the migration modes), when the caller knows them.
 */
export function checkRouteFlag(value: unknown, v: SchemaValidator, path: readonly PathKey[], choices?: readonly string[]): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
  const f = value as Partial<RouteFlagConfig>;
  const where = formatPath(path);
  if (f.context?.kind === 'kind' || f.context?.kind === 'multi') v.report([...path, 'context', 'kind'], `"${where}.context.kind" cannot be "${f.context.kind}" (reserved by LaunchDarkly)`);
  for (const name of Object.keys(f.context?.attributes ?? {})) {
    if (name === 'kind' || name === 'key' || name === '_meta') v.report([...path, 'context', 'attributes', name], `context attribute "${name}" is reserved; pick another name`, true);
  }
  if (f.variations && typeof f.variations === 'object' && Object.keys(f.variations).length === 0) {
    v.report([...path, 'variations'], `"${where}.variations" must map at least one variation value`);
  }
  if (choices) {
    for (const [variation, target] of Object.entries(f.variations ?? {})) {
      if (typeof target === 'string' && !choices.includes(target)) {
        v.report([...path, 'variations', variation], `"${where}.variations.${variation}" names "${target}", which is neither an upstream nor a mode${didYouMean(target, choices)}`);
      }
    }
    if (typeof f.default === 'string' && !choices.includes(f.default)) {
      v.report([...path, 'default'], `"${where}.default" names "${f.default}", which is neither an upstream nor a mode${didYouMean(f.default, choices)}`);
    }
  }
}
