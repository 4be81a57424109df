import { didYouMean } from '../../config/did-you-mean.js';
import type { Loaded, SemanticCheck } from '../../config/load-yaml-file.js';
import { loadYamlFile, validateYaml } from '../../config/load-yaml-file.js';
import type { Schema, SchemaValidator } from '../../config/schema.js';
import { formatPath, s } from '../../config/schema.js';
import type { PathKey } from '../../config/yaml-source.js';
import { variationToString } from '../flag-provider.js';

/**
 * The local flags file (`flags.file` in the rules, e.g. rules/flags.yaml): what the user wrote.
 * It compiles into an immutable `LocalFlagModel` (local-flag-model.ts) that evaluation reads.
 */
export type VariationValue = string | boolean | number;

export interface TargetListConfig {
  readonly keys?: readonly string[];
  /** attribute name → one value or a list of values that match. */
  readonly attributes?: Readonly<Record<string, string | readonly string[]>>;
}

export interface LocalFlagConfig {
  readonly description?: string;
  readonly on?: boolean;
  readonly variations?: readonly VariationValue[];
  readonly variation?: VariationValue;
  readonly fallthrough?: VariationValue;
  readonly offVariation?: VariationValue;
  readonly rollout?: number;
  readonly salt?: string;
  readonly allow?: TargetListConfig;
  readonly deny?: TargetListConfig;
}

export interface FlagsFileConfig {
  readonly flags: Readonly<Record<string, LocalFlagConfig>>;
}

const variationValue = s.union([s.string(), s.boolean(), s.number()], { description: 'a variation value: a string (e.g. a migration mode) or a boolean' });

const targetList = s.object({
  keys: s.array(s.string(), { description: 'context keys' }),
  attributes: s.map(s.union([s.string(), s.array(s.string())]), { description: 'attribute name → value or list of values' }),
});

export const localFlagSchema: Schema = s.object({
  description: s.string(),
  on: s.boolean({ description: 'targeting on (default true); when off every context gets offVariation' }),
  variations: s.array(variationValue, { minItems: 1, description: 'the values this flag can serve (default [true, false])' }),
  variation: { ...variationValue, description: 'served to the allow list and the rollout slice (default true for boolean flags)' },
  fallthrough: { ...variationValue, description: 'served to everyone else while on (default false for boolean flags)' },
  offVariation: { ...variationValue, description: 'served to everyone while off (default: fallthrough)' },
  rollout: s.number({ min: 0, max: 100, description: 'percentage of context keys served `variation` (default 100)' }),
  salt: s.string({ description: 'bucketing salt (default: the flag key); change it to reshuffle the cohort' }),
  allow: { ...targetList, description: 'contexts always served `variation` (after deny)' },
  deny: { ...targetList, description: 'contexts never served `variation` (checked first)' },
});

export const flagsFileSchema: Schema = s.object({ flags: s.map(localFlagSchema) }, { required: ['flags'] });

export const FLAG_KEY = /^[A-Za-z0-9._-]+$/;
export const BOOLEAN_VARIATIONS: readonly string[] = ['true', 'false'];

/** The variations of a flag as strings, defaulting to a boolean flag. */
export function variationsOf(flag: LocalFlagConfig): string[] {
  return flag.variations ? flag.variations.map((v) => variationToString(v) ?? '') : [...BOOLEAN_VARIATIONS];
}

export function isBooleanFlag(variations: readonly string[]): boolean {
  return variations.length === 2 && variations.includes('true') && variations.includes('false');
}

/** Cross-field checks the schema cannot express; every problem is located. */
export function checkLocalFlag(flag: Record<string, unknown>, v: SchemaValidator, path: readonly PathKey[]): void {
  const f = flag as LocalFlagConfig;
  const where = `"${formatPath(path)}"`;
  // 1. variations are distinct once rendered as strings (true and "true" are the same value).
  const variations = Array.isArray(f.variations) ? f.variations.map((x) => variationToString(x) ?? '') : [...BOOLEAN_VARIATIONS];
  variations.forEach((x, i) => {
    if (variations.indexOf(x) !== i) v.report([...path, 'variations', i], `${where} lists variation "${x}" twice`);
  });
  const boolean = isBooleanFlag(variations);
  // 2. every served value is one of the variations; non-boolean flags must say what they serve.
  for (const field of ['variation', 'fallthrough', 'offVariation'] as const) {
    const raw = f[field];
    if (raw === undefined || raw === null) {
      if (!boolean && field !== 'offVariation') {
        v.report(path, `${where} must set "${field}": its variations are not true/false, so there is no default`);
      }
      continue;
    }
    if (typeof raw === 'object') continue; // a schema error already reported
    const value = variationToString(raw) ?? '';
    if (!variations.includes(value)) {
      v.report([...path, field], `"${formatPath([...path, field])}" is "${value}", which is not one of its variations (${variations.join(', ')})${didYouMean(value, variations)}`);
    }
  }
  // 3. rollout resolution is 0.001% (100 000 buckets, as LaunchDarkly).
  if (typeof f.rollout === 'number' && Math.abs(f.rollout * 1000 - Math.round(f.rollout * 1000)) > 1e-6) {
    v.report([...path, 'rollout'], `"${formatPath([...path, 'rollout'])}" must have at most 3 decimals, got ${f.rollout}`);
  }
}

export const checkFlagsFile: SemanticCheck = (value, v) => {
  const flags = value.flags;
  if (flags === null || typeof flags !== 'object' || Array.isArray(flags)) return;
  for (const [key, flag] of Object.entries(flags as Record<string, unknown>)) {
    if (!FLAG_KEY.test(key)) v.report(['flags', key], `flag key "${key}" may only contain letters, digits, ".", "_" and "-"`, true);
    if (flag !== null && typeof flag === 'object' && !Array.isArray(flag)) {
      checkLocalFlag(flag as Record<string, unknown>, v, ['flags', key]);
    }
  }
};

export function validateFlagsFile(text: string, file: string): Loaded<FlagsFileConfig> {
  return validateYaml<FlagsFileConfig>(text, file, flagsFileSchema, checkFlagsFile);
}

/** Reads and validates a flags file; used by the provider and by `ficus validate`. */
export function loadFlagsFile(file: string): Promise<Loaded<FlagsFileConfig>> {
  return loadYamlFile<FlagsFileConfig>(file, flagsFileSchema, checkFlagsFile);
}
