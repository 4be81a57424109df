import type { DiffEntry } from './diff-entry.js';
import type { PathGlob, PathSegment } from './json-path.js';
import { anyGlobMatches, formatField, formatPath, globMatches } from './json-path.js';

export interface UnorderedRule {
  readonly glob: PathGlob;
  /** Match elements by this field (e.g. `id`) instead of by whole value. */
  readonly key: string | null;
}

/** The precompiled JSON comparison rules of one route (see ShadowPolicy). */
export interface JsonDiffRules {
  readonly ignore: readonly PathGlob[];
  readonly unordered: readonly UnorderedRule[];
  /** Relative: |a - b| <= tolerance * max(|a|, |b|). 0 means exact. */
  readonly numericTolerance: number;
  /** Stop collecting after this many entries (a totally different body is one finding, not 10,000). */
  readonly maxDiffs: number;
}

type Kind = 'null' | 'number' | 'string' | 'boolean' | 'array' | 'object';

function kindOf(v: unknown): Kind {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v as Kind;
}

/** Numbers equal within a relative tolerance; the tolerance scales with the larger magnitude. */
export function numbersMatch(a: number, b: number, tolerance: number): boolean {
  if (a === b) return true;
  if (tolerance <= 0) return false;
  return Math.abs(a - b) <= tolerance * Math.max(Math.abs(a), Math.abs(b));
}

/** A key-order-independent serialisation, for multiset matching of array elements. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const obj = v as Record<string, unknown>;
  return `{${Object.keys(obj).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

/** Beyond this many unmatched pairs, unordered elements are paired in order instead of by best fit. */
const BEST_FIT_LIMIT = 400;

class Differ {
  readonly out: DiffEntry[] = [];
  constructor(private readonly rules: JsonDiffRules, private readonly limit: number) {}

  private push(path: readonly PathSegment[], kind: DiffEntry['kind'], primary: unknown, candidate: unknown): void {
    if (this.out.length >= this.limit) return;
    this.out.push({ path: formatPath(path), field: formatField(path), kind, primary: primary ?? null, candidate: candidate ?? null });
  }

  full(): boolean {
    return this.out.length >= this.limit;
  }

  walk(a: unknown, b: unknown, path: PathSegment[]): void {
    if (this.full()) return;
    // 1. An ignored path hides its whole subtree.
    if (this.rules.ignore.length > 0 && anyGlobMatches(this.rules.ignore, path)) return;
    const ka = kindOf(a);
    const kb = kindOf(b);
    if (ka !== kb) {
      this.push(path, 'type', a, b);
      return;
    }
    switch (ka) {
      case 'null':
        return;
      case 'number':
        if (!numbersMatch(a as number, b as number, this.rules.numericTolerance)) this.push(path, 'changed', a, b);
        return;
      case 'string':
      case 'boolean':
        if (a !== b) this.push(path, 'changed', a, b);
        return;
      case 'object':
        this.walkObject(a as Record<string, unknown>, b as Record<string, unknown>, path);
        return;
      case 'array': {
        const rule = this.unorderedRule(path);
        if (rule) this.walkUnordered(a as unknown[], b as unknown[], path, rule.key);
        else this.walkOrdered(a as unknown[], b as unknown[], path);
        return;
      }
    }
  }

  private ignored(path: PathSegment[]): boolean {
    return this.rules.ignore.length > 0 && anyGlobMatches(this.rules.ignore, path);
  }

  private unorderedRule(path: PathSegment[]): UnorderedRule | null {
    for (const r of this.rules.unordered) if (globMatches(r.glob, path)) return r;
    return null;
  }

  private walkObject(a: Record<string, unknown>, b: Record<string, unknown>, path: PathSegment[]): void {
    for (const k of Object.keys(a)) {
      path.push(k);
      if (Object.hasOwn(b, k)) this.walk(a[k], b[k], path);
      else if (!this.ignored(path)) this.push(path, 'missing', a[k], null);
      path.pop();
    }
    for (const k of Object.keys(b)) {
      if (Object.hasOwn(a, k)) continue;
      path.push(k);
      if (!this.ignored(path)) this.push(path, 'extra', null, b[k]);
      path.pop();
    }
  }

  private walkOrdered(a: unknown[], b: unknown[], path: PathSegment[]): void {
    const n = Math.max(a.length, b.length);
    for (let i = 0; i < n && !this.full(); i++) {
      path.push(i);
      if (i >= b.length) {
        if (!this.ignored(path)) this.push(path, 'missing', a[i], null);
      } else if (i >= a.length) {
        if (!this.ignored(path)) this.push(path, 'extra', null, b[i]);
      } else {
        this.walk(a[i], b[i], path);
      }
      path.pop();
    }
  }

  /**
   * Arrays compared as multisets: (1) by the key field when one is configured, (2) identical
   * elements cancel out, (3) the rest are paired by best fit (fewest differences, which respects
   * ignores and tolerance) and diffed at the primary's index, (4) leftovers are missing or extra.
   */
  private walkUnordered(a: unknown[], b: unknown[], path: PathSegment[], key: string | null): void {
    const restA: number[] = [];
    const usedB = new Set<number>();
    // 1. Keyed elements.
    if (key !== null) {
      const byKey = new Map<string, number[]>();
      b.forEach((el, j) => {
        const kv = keyOf(el, key);
        if (kv === null) return;
        const list = byKey.get(kv);
        if (list) list.push(j);
        else byKey.set(kv, [j]);
      });
      a.forEach((el, i) => {
        const kv = keyOf(el, key);
        const j = kv === null ? undefined : byKey.get(kv)?.shift();
        if (j === undefined) {
          restA.push(i);
          return;
        }
        usedB.add(j);
        path.push(i);
        this.walk(el, b[j], path);
        path.pop();
      });
    } else {
      for (let i = 0; i < a.length; i++) restA.push(i);
    }
    // 2. Identical elements cancel out.
    const byValue = new Map<string, number[]>();
    b.forEach((el, j) => {
      if (usedB.has(j)) return;
      const c = canonicalJson(el);
      const list = byValue.get(c);
      if (list) list.push(j);
      else byValue.set(c, [j]);
    });
    const unmatchedA: number[] = [];
    for (const i of restA) {
      const j = byValue.get(canonicalJson(a[i]))?.shift();
      if (j === undefined) unmatchedA.push(i);
      else usedB.add(j);
    }
    const unmatchedB: number[] = [];
    for (let j = 0; j < b.length; j++) if (!usedB.has(j)) unmatchedB.push(j);
    // 3. Best-fit pairing of what is left.
    const bestFit = unmatchedA.length * unmatchedB.length <= BEST_FIT_LIMIT;
    for (const i of unmatchedA) {
      if (unmatchedB.length === 0) {
        path.push(i);
        if (!this.ignored(path)) this.push(path, 'missing', a[i], null);
        path.pop();
        continue;
      }
      let pick = 0;
      if (bestFit) {
        let best = Infinity;
        unmatchedB.forEach((j, idx) => {
          const probe = new Differ(this.rules, best === Infinity ? 64 : best);
          probe.walk(a[i], b[j], [...path, i]);
          if (probe.out.length < best) {
            best = probe.out.length;
            pick = idx;
          }
        });
      }
      const [j] = unmatchedB.splice(pick, 1);
      path.push(i);
      this.walk(a[i], b[j], path);
      path.pop();
    }
    // 4. Candidate elements nothing matched.
    for (const j of unmatchedB) {
      path.push(j);
      if (!this.ignored(path)) this.push(path, 'extra', null, b[j]);
      path.pop();
    }
  }
}

function keyOf(el: unknown, key: string): string | null {
  if (el === null || typeof el !== 'object' || Array.isArray(el)) return null;
  const v = (el as Record<string, unknown>)[key];
  return v === undefined ? null : canonicalJson(v);
}

/** Structural diff of two parsed JSON values under a route's rules. */
export function diffJson(primary: unknown, candidate: unknown, rules: JsonDiffRules): DiffEntry[] {
  const d = new Differ(rules, rules.maxDiffs);
  d.walk(primary, candidate, []);
  return d.out;
}
