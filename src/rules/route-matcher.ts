import { compareSpecificity, matchPattern, SegmentKind } from './path-pattern.js';
import type { RouteModel } from './route-model.js';

/**
 * Finds the winning route for a request. Routes are sorted once (priority, then path specificity,
 * then file order) and indexed by their first literal path segment; a lookup scans only the routes
 * that can match that first segment, in winning order, and returns the first whose conditions all
 * hold. No allocation per lookup.
 */
export class RouteMatcher {
  private readonly byFirstSegment = new Map<string, readonly RouteModel[]>();
  private readonly generic: readonly RouteModel[];

  constructor(routes: readonly RouteModel[]) {
    const ordered = [...routes].sort(compareRoutes);
    const generic: RouteModel[] = [];
    const buckets = new Map<string, RouteModel[]>();
    for (const r of ordered) {
      const first = r.pattern?.segments[0];
      if (first !== undefined && first.kind === SegmentKind.Literal) {
        let b = buckets.get(first.value);
        if (!b) buckets.set(first.value, (b = []));
        b.push(r);
      } else {
        generic.push(r);
      }
    }
    for (const [seg, list] of buckets) this.byFirstSegment.set(seg, [...list, ...generic].sort(compareRoutes));
    this.generic = generic;
  }

  match(method: string, host: string, headers: Readonly<Record<string, string | string[] | undefined>>, segs: readonly string[], segCount: number): RouteModel | null {
    const candidates = (segCount > 0 ? this.byFirstSegment.get(segs[0]) : undefined) ?? this.generic;
    for (let i = 0; i < candidates.length; i++) {
      const r = candidates[i];
      if (r.pattern !== null && !matchPattern(r.pattern, segs, segCount)) continue;
      if (r.methods !== null && !r.methods.includes(method)) continue;
      if (r.host !== null && !matchHost(r.host.exact, r.host.suffix, host)) continue;
      if (r.headers !== null && !matchHeaders(r.headers, headers)) continue;
      return r;
    }
    return null;
  }
}

/** Winning order: higher priority, then more specific path, then earlier in the file. */
export function compareRoutes(a: RouteModel, b: RouteModel): number {
  return b.priority - a.priority || compareSpecificity(a.pattern, b.pattern) || a.index - b.index;
}

function matchHost(exact: string | null, suffix: string | null, host: string): boolean {
  if (exact !== null) return host === exact;
  // "*.example.com" matches a.example.com and a.b.example.com, not example.com itself
  return suffix !== null && host.length > suffix.length && host.endsWith(suffix);
}

function matchHeaders(conds: readonly (readonly [string, string])[], headers: Readonly<Record<string, string | string[] | undefined>>): boolean {
  for (let i = 0; i < conds.length; i++) {
    const [name, want] = conds[i];
    const got = headers[name];
    if (got === undefined) return false;
    if (want === '*') continue;
    if (typeof got === 'string' ? got !== want : !got.includes(want)) return false;
  }
  return true;
}
