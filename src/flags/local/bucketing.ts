/**
 * Stable percentage bucketing: a context key always lands in the same one of 100 000 buckets
 * (0.001% resolution, as LaunchDarkly), and a rollout of p% serves buckets [0, p * 1000). Raising
 * the percentage therefore only adds keys; lowering it only removes them.
 *
 * The hash is 32-bit FNV-1a over the UTF-16 code units of `salt + "." + key`, finished with
 * MurmurHash3's fmix32 avalanche step so sequential keys (user-1, user-2, ...) spread evenly. The
 * salt's part is folded once at compile time (`bucketSeed`), so bucketing a key allocates nothing:
 * no string concatenation, no buffer, no digest object.
 */
export const BUCKETS = 100_000;

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const DOT = 0x2e;

// Called through a saved reference on purpose. Once any module subclasses String (ioredis does:
// `class VerbatimString extends String`), V8 stops treating String.prototype as pristine and every
// `s.charCodeAt(i)` does a slow prototype lookup — 4x slower here (test/bench/flags-bench.ts).
// `charCodeAt.call(s, i)` skips the lookup and stays fast either way.
const charCodeAt = String.prototype.charCodeAt;

function fnv(h: number, text: string): number {
  for (let i = 0; i < text.length; i++) {
    h ^= charCodeAt.call(text, i);
    h = Math.imul(h, FNV_PRIME);
  }
  return h;
}

/** The hash state after `salt + "."`; compute once per flag. */
export function bucketSeed(salt: string): number {
  return Math.imul(fnv(FNV_OFFSET, salt) ^ DOT, FNV_PRIME);
}

/** The bucket in [0, BUCKETS) of a key under a seed from `bucketSeed`. */
export function bucketOf(seed: number, key: string): number {
  let h = fnv(seed, key);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % BUCKETS;
}

/** The exclusive bucket bound for a percentage (0..100, up to 3 decimals). */
export function rolloutThreshold(percentage: number): number {
  return Math.round(percentage * 1000);
}
