import type { EndpointSnapshot, FieldStat } from '../record/shadow-record.js';
import { COUNTER, OTHER_SIGNATURE } from '../record/shadow-record.js';

/**
 * Diffy's idea (twitter/diffy): call the known-good service twice. A field that differs between
 * two calls of the same service (primary vs secondary) about as often as between primary and
 * candidate is non-determinism (timestamps, request ids), not a regression.
 *
 * A field is noise when, for its endpoint,
 *   secondaryComparisons >= minSecondarySamples                (enough evidence), and
 *   secondaryDiffs(field) > 0, and
 *   secondaryRate(field) >= ratio * candidateRate(field)      (differs "about as often")
 * where secondaryRate = secondaryDiffs / secondaryComparisons and
 *       candidateRate = candidateDiffs / comparisons.
 * Documented in README "Shadow traffic → Noise".
 */
export interface NoiseThresholds {
  readonly minSecondarySamples: number;
  readonly ratio: number;
}

export const NOISE_THRESHOLDS: NoiseThresholds = Object.freeze({ minSecondarySamples: 10, ratio: 0.5 });

export function fieldRates(stat: FieldStat, compared: number, secondaryCompared: number): { candidateRate: number; secondaryRate: number } {
  return {
    candidateRate: compared > 0 ? stat.candidateDiffs / compared : 0,
    secondaryRate: secondaryCompared > 0 ? stat.secondaryDiffs / secondaryCompared : 0,
  };
}

export function isNoise(stat: FieldStat, compared: number, secondaryCompared: number, t: NoiseThresholds = NOISE_THRESHOLDS): boolean {
  if (secondaryCompared < t.minSecondarySamples || stat.secondaryDiffs === 0) return false;
  const { candidateRate, secondaryRate } = fieldRates(stat, compared, secondaryCompared);
  return secondaryRate >= t.ratio * candidateRate;
}

export function noiseFieldsOf(snap: EndpointSnapshot, t: NoiseThresholds = NOISE_THRESHOLDS): Set<string> {
  const compared = snap.counters[COUNTER.compared] ?? 0;
  const secondary = snap.counters[COUNTER.secondary] ?? 0;
  const out = new Set<string>();
  for (const [name, stat] of Object.entries(snap.fields)) if (isNoise(stat, compared, secondary, t)) out.add(name);
  return out;
}

/** Mismatches whose every differing field is noise: they count as matches after adjustment. */
export function noiseOnlyMismatches(snap: EndpointSnapshot, noise: ReadonlySet<string>): number {
  if (noise.size === 0) return 0;
  let n = 0;
  for (const sig of snap.signatures) {
    if (sig.fields.length === 0 || sig.fields[0] === OTHER_SIGNATURE) continue;
    if (sig.fields.every((f) => noise.has(f))) n += sig.count;
  }
  return n;
}
