import type { FlagContext, FlagResult } from '../flag-provider.js';
import { FAILED, variationToString } from '../flag-provider.js';
import { bucketOf, bucketSeed, rolloutThreshold } from './bucketing.js';
import type { FlagsFileConfig, LocalFlagConfig, TargetListConfig } from './flags-file-schema.js';
import { isBooleanFlag, variationsOf } from './flags-file-schema.js';

/**
 * The compiled, immutable form of the local flags file (plus any runtime overrides). A reload or
 * an override change builds a whole new model and swaps one reference; an evaluation in flight
 * keeps the model it started with. Everything an evaluation needs is precomputed here: the
 * bucketing seed, the rollout threshold, the target sets, and one frozen `FlagResult` per
 * variation, so `evaluateLocal` allocates nothing.
 */

/** A runtime change to a flag, from Redis (`ficus flags set`). Fields left out keep the file's value. */
export interface FlagOverride {
  readonly on?: boolean;
  readonly rollout?: number;
  readonly variation?: string;
  readonly fallthrough?: string;
}

interface AttributeMatch {
  readonly name: string;
  readonly values: ReadonlySet<string>;
}

interface TargetList {
  readonly keys: ReadonlySet<string>;
  readonly attributes: readonly AttributeMatch[];
}

export interface CompiledFlag {
  readonly key: string;
  readonly description: string | null;
  readonly on: boolean;
  readonly variations: readonly string[];
  readonly variation: string;
  readonly fallthrough: string;
  readonly offVariation: string;
  readonly rollout: number;
  /** Buckets below this are in the rollout. */
  readonly threshold: number;
  readonly seed: number;
  readonly allow: TargetList | null;
  readonly deny: TargetList | null;
  /** One frozen result per variation value. */
  readonly results: ReadonlyMap<string, FlagResult>;
  readonly variationResult: FlagResult;
  readonly fallthroughResult: FlagResult;
  readonly offResult: FlagResult;
  /** The override applied on top of the file, if any (for `ficus flags list` and logs). */
  readonly override: FlagOverride | null;
}

export interface LocalFlagModel {
  readonly flags: ReadonlyMap<string, CompiledFlag>;
}

export const EMPTY_MODEL: LocalFlagModel = Object.freeze({ flags: new Map<string, CompiledFlag>() });

function compileTargets(t: TargetListConfig | undefined): TargetList | null {
  if (!t) return null;
  const keys = new Set(t.keys ?? []);
  const attributes = Object.entries(t.attributes ?? {}).map(([name, v]) => ({ name, values: new Set(typeof v === 'string' ? [v] : v) }));
  return keys.size === 0 && attributes.length === 0 ? null : { keys, attributes };
}

function withResults(
  base: Omit<CompiledFlag, 'results' | 'variationResult' | 'fallthroughResult' | 'offResult' | 'threshold'>,
  results?: ReadonlyMap<string, FlagResult>,
): CompiledFlag {
  const all = results ?? new Map(base.variations.map((v) => [v, Object.freeze({ value: v, reason: 'evaluated' as const })]));
  return Object.freeze({
    ...base,
    threshold: rolloutThreshold(base.rollout),
    results: all,
    variationResult: all.get(base.variation) ?? FAILED.error,
    fallthroughResult: all.get(base.fallthrough) ?? FAILED.error,
    offResult: all.get(base.offVariation) ?? FAILED.error,
  });
}

function str(v: unknown, fallback: string): string {
  return variationToString(v) ?? fallback;
}

/** Compiles one validated flag. Defaults: boolean variations, serve true to the slice, false otherwise. */
export function compileFlag(key: string, f: LocalFlagConfig): CompiledFlag {
  const variations = variationsOf(f);
  const boolean = isBooleanFlag(variations);
  const fallthrough = str(f.fallthrough, boolean ? 'false' : variations[0]);
  return withResults({
    key,
    description: f.description ?? null,
    on: f.on ?? true,
    variations,
    variation: str(f.variation, boolean ? 'true' : variations[0]),
    fallthrough,
    offVariation: str(f.offVariation, fallthrough),
    rollout: f.rollout ?? 100,
    seed: bucketSeed(f.salt ?? key),
    allow: compileTargets(f.allow),
    deny: compileTargets(f.deny),
    override: null,
  });
}

export function compileFlagsFile(config: FlagsFileConfig): LocalFlagModel {
  const flags = new Map<string, CompiledFlag>();
  for (const [key, f] of Object.entries(config.flags ?? {})) flags.set(key, compileFlag(key, f));
  return Object.freeze({ flags });
}

/**
 * Lays runtime overrides over the file's model. An override naming a flag the file lacks, or a
 * value that is not one of the flag's variations, is skipped and reported (the file's value keeps
 * serving), so a typo in `ficus flags set` cannot break routing.
 */
export function applyOverrides(model: LocalFlagModel, overrides: ReadonlyMap<string, FlagOverride>): { model: LocalFlagModel; problems: string[] } {
  if (overrides.size === 0) return { model, problems: [] };
  const problems: string[] = [];
  const flags = new Map(model.flags);
  for (const [key, o] of overrides) {
    const f = model.flags.get(key);
    if (!f) {
      problems.push(`override for flag "${key}" ignored: the flags file has no such flag`);
      continue;
    }
    const bad = (['variation', 'fallthrough'] as const).filter((field) => o[field] !== undefined && !f.variations.includes(o[field]!));
    if (bad.length > 0) {
      problems.push(`override for flag "${key}" ignored: ${bad.map((b) => `${b} "${o[b]}"`).join(', ')} is not one of its variations (${f.variations.join(', ')})`);
      continue;
    }
    flags.set(key, withResults({
      key,
      description: f.description,
      on: o.on ?? f.on,
      variations: f.variations,
      variation: o.variation ?? f.variation,
      fallthrough: o.fallthrough ?? f.fallthrough,
      offVariation: f.offVariation,
      rollout: o.rollout ?? f.rollout,
      seed: f.seed,
      allow: f.allow,
      deny: f.deny,
      override: o,
    }, f.results));
  }
  return { model: Object.freeze({ flags }), problems };
}

function matches(t: TargetList, ctx: FlagContext, key: string): boolean {
  if (t.keys.has(key)) return true;
  for (let i = 0; i < t.attributes.length; i++) {
    const a = t.attributes[i];
    const v = ctx.attributes[a.name];
    if (v != null && a.values.has(v)) return true;
  }
  return false;
}

/**
 * Evaluates one flag for one context. Order (as in the issue): unknown flag → missing key → off →
 * deny list → allow list → percentage rollout by the context key.
 */
export function evaluateLocal(model: LocalFlagModel, flagKey: string, ctx: FlagContext): FlagResult {
  const f = model.flags.get(flagKey);
  if (f === undefined) return FAILED['flag-unknown'];
  const key = ctx.key;
  if (key === null || key === '') return FAILED['context-key-missing'];
  if (!f.on) return f.offResult;
  if (f.deny !== null && matches(f.deny, ctx, key)) return f.fallthroughResult;
  if (f.allow !== null && matches(f.allow, ctx, key)) return f.variationResult;
  if (f.threshold >= 100_000) return f.variationResult;
  if (f.threshold <= 0) return f.fallthroughResult;
  return bucketOf(f.seed, key) < f.threshold ? f.variationResult : f.fallthroughResult;
}

/** A flag as `ficus flags list --json` and the admin API show it (file values with overrides applied). */
export interface FlagSummary extends Pick<CompiledFlag, 'key' | 'description' | 'on' | 'variations' | 'variation' | 'fallthrough' | 'offVariation' | 'rollout'> {
  readonly allow: { readonly keys: readonly string[]; readonly attributes: Readonly<Record<string, readonly string[]>> } | null;
  readonly deny: { readonly keys: readonly string[]; readonly attributes: Readonly<Record<string, readonly string[]>> } | null;
  readonly override: FlagOverride | null;
}

function summariseTargets(t: TargetList | null): FlagSummary['allow'] {
  return t === null ? null : { keys: [...t.keys], attributes: Object.fromEntries(t.attributes.map((a) => [a.name, [...a.values]])) };
}

export function describeFlags(model: LocalFlagModel): FlagSummary[] {
  return [...model.flags.values()].map((f) => ({
    key: f.key,
    description: f.description,
    on: f.on,
    variations: f.variations,
    variation: f.variation,
    fallthrough: f.fallthrough,
    offVariation: f.offVariation,
    rollout: f.rollout,
    allow: summariseTargets(f.allow),
    deny: summariseTargets(f.deny),
    override: f.override,
  }));
}
