/**
 * Path patterns: literal segments, `:param` (one segment), `*` (one segment), `**` (any rest,
 * including nothing; only as the last segment). Patterns are compiled once; matching walks the
 * request's segments without allocating.
 */
export const enum SegmentKind {
  Literal = 0,
  Param = 1,
  Star = 2,
  GlobStar = 3,
}

export interface PatternSegment {
  readonly kind: SegmentKind;
  /** the literal text, or the parameter name */
  readonly value: string;
}

export interface PathPattern {
  readonly source: string;
  readonly segments: readonly PatternSegment[];
  readonly endsWithGlobStar: boolean;
  readonly params: readonly string[];
}

export type PatternResult = { ok: true; pattern: PathPattern } | { ok: false; message: string };

const PARAM = /^:[A-Za-z_][A-Za-z0-9_]*$/;

export function parsePathPattern(source: string): PatternResult {
  if (!source.startsWith('/')) return { ok: false, message: `path pattern "${source}" must start with "/"` };
  if (source.includes('?') || source.includes('#')) return { ok: false, message: `path pattern "${source}" must not contain a query or fragment` };
  if (source === '/') return { ok: true, pattern: { source, segments: [], endsWithGlobStar: false, params: [] } };
  const raw = source.slice(1).split('/');
  if (raw[raw.length - 1] === '') raw.pop(); // a trailing slash is not significant
  const segments: PatternSegment[] = [];
  const params: string[] = [];
  for (let i = 0; i < raw.length; i++) {
    const seg = raw[i];
    if (seg === '') return { ok: false, message: `path pattern "${source}" has an empty segment ("//")` };
    if (seg === '.' || seg === '..') return { ok: false, message: `path pattern "${source}" must not contain "." or ".." segments` };
    if (seg === '**') {
      if (i !== raw.length - 1) return { ok: false, message: `path pattern "${source}": "**" is only allowed as the last segment` };
      segments.push({ kind: SegmentKind.GlobStar, value: '**' });
    } else if (seg === '*') {
      segments.push({ kind: SegmentKind.Star, value: '*' });
    } else if (seg.startsWith(':')) {
      if (!PARAM.test(seg)) return { ok: false, message: `path pattern "${source}": "${seg}" is not a valid parameter (use :name with letters, digits, _)` };
      const name = seg.slice(1);
      if (params.includes(name)) return { ok: false, message: `path pattern "${source}": parameter ":${name}" appears twice` };
      params.push(name);
      segments.push({ kind: SegmentKind.Param, value: name });
    } else if (seg.includes('*')) {
      return { ok: false, message: `path pattern "${source}": "*" must be a whole segment ("${seg}" mixes it with text)` };
    } else {
      segments.push({ kind: SegmentKind.Literal, value: seg });
    }
  }
  const endsWithGlobStar = segments.length > 0 && segments[segments.length - 1].kind === SegmentKind.GlobStar;
  return { ok: true, pattern: { source, segments, endsWithGlobStar, params } };
}

/**
 * Does the pattern match these request segments? `segs` are the path's segments without the
 * leading empty one; a trailing empty segment (trailing slash) is ignored.
 */
export function matchPattern(pattern: PathPattern, segs: readonly string[], segCount: number): boolean {
  const ps = pattern.segments;
  const n = ps.length;
  for (let i = 0; i < n; i++) {
    const p = ps[i];
    if (p.kind === SegmentKind.GlobStar) return true;
    if (i >= segCount) return false;
    const seg = segs[i];
    if (p.kind === SegmentKind.Literal) {
      if (seg !== p.value) return false;
    } else if (seg.length === 0) {
      return false;
    }
  }
  return segCount === n;
}

/** Extracts `:param` values (for rewrites and reports); not used on the matching path. */
export function extractParams(pattern: PathPattern, segs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  pattern.segments.forEach((p, i) => {
    if (p.kind === SegmentKind.Param && i < segs.length) out[p.value] = segs[i];
  });
  return out;
}

const RANK = [3, 2, 1, 0]; // literal > param > star > globstar
const END_RANK = 0.5; // a pattern that ends here is more specific than "**" but less than any segment

function rankAt(p: PathPattern | null, i: number): number {
  if (p === null) return 0; // no path condition = "/**"
  if (i < p.segments.length) return RANK[p.segments[i].kind];
  return p.endsWithGlobStar ? 0 : END_RANK;
}

/**
 * Negative when `a` is more specific than `b`. Compared segment by segment: literal > param >
 * wildcard; at the first difference the more specific segment wins, so longer literal prefixes beat
 * shorter ones (`/api/users/**` beats `/api/**`).
 */
export function compareSpecificity(a: PathPattern | null, b: PathPattern | null): number {
  const len = Math.max(a?.segments.length ?? 0, b?.segments.length ?? 0) + 1;
  for (let i = 0; i < len; i++) {
    const d = rankAt(b, i) - rankAt(a, i);
    if (d !== 0) return d;
  }
  return 0;
}
