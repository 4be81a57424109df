/**
 * JSON paths as the shadow differ reports them (`$.items[3].price`) and the globs users write to
 * ignore, treat as unordered or redact them (`$.**.updated_at`, `$.items[*].id`).
 *
 * Globs are parsed once when a route's policy compiles; matching walks two small arrays, with no
 * regex and no string building per request.
 */
export type PathSegment = string | number;

type GlobToken =
  | { readonly t: 'key'; readonly v: string }
  | { readonly t: 'index'; readonly v: number }
  | { readonly t: 'one' } // `*` or `[*]`: exactly one key or index
  | { readonly t: 'deep' }; // `**`: zero or more segments

export interface PathGlob {
  readonly source: string;
  readonly tokens: readonly GlobToken[];
}

export type GlobParse = { readonly ok: true; readonly glob: PathGlob } | { readonly ok: false; readonly message: string };

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** Parses `$`, `.name`, `.*`, `.**`, `[3]`, `[*]` and `["odd key"]` steps. */
export function parsePathGlob(source: string): GlobParse {
  const fail = (why: string): GlobParse => ({ ok: false, message: `"${source}" is not a JSON path glob: ${why}` });
  if (!source.startsWith('$')) return fail('it must start with "$" (for example "$.items[*].id")');
  const tokens: GlobToken[] = [];
  let i = 1;
  while (i < source.length) {
    const c = source[i];
    if (c === '.') {
      if (source.startsWith('**', i + 1)) {
        tokens.push({ t: 'deep' });
        i += 3;
      } else if (source[i + 1] === '*') {
        tokens.push({ t: 'one' });
        i += 2;
      } else {
        let j = i + 1;
        while (j < source.length && source[j] !== '.' && source[j] !== '[') j++;
        const name = source.slice(i + 1, j);
        if (name === '') return fail(`empty key at position ${i + 1}`);
        if (name.includes('*')) return fail(`"*" must be a whole step (".*" or ".**"), got ".${name}"`);
        tokens.push({ t: 'key', v: name });
        i = j;
      }
    } else if (c === '[') {
      const end = source.indexOf(']', i);
      if (end < 0) return fail(`unclosed "[" at position ${i}`);
      const inner = source.slice(i + 1, end);
      if (inner === '*') tokens.push({ t: 'one' });
      else if (/^\d+$/.test(inner)) tokens.push({ t: 'index', v: Number(inner) });
      else if (/^"(?:[^"\\]|\\.)*"$/.test(inner)) tokens.push({ t: 'key', v: JSON.parse(inner) as string });
      else return fail(`"[${inner}]" must be [N], [*] or ["key"]`);
      i = end + 1;
    } else {
      return fail(`unexpected "${c}" at position ${i}`);
    }
  }
  return { ok: true, glob: { source, tokens } };
}

/** Parses a glob that compile-time validation already accepted; throws on a bug. */
export function mustParsePathGlob(source: string): PathGlob {
  const r = parsePathGlob(source);
  if (!r.ok) throw new Error(r.message);
  return r.glob;
}

function matchFrom(tokens: readonly GlobToken[], ti: number, path: readonly PathSegment[], pi: number): boolean {
  while (ti < tokens.length) {
    const tok = tokens[ti];
    if (tok.t === 'deep') {
      // `**` takes zero or more segments: try every split point (patterns are short).
      for (let k = pi; k <= path.length; k++) if (matchFrom(tokens, ti + 1, path, k)) return true;
      return false;
    }
    if (pi >= path.length) return false;
    const seg = path[pi];
    if (tok.t === 'key' && seg !== tok.v) return false;
    if (tok.t === 'index' && seg !== tok.v) return false;
    ti++;
    pi++;
  }
  return pi === path.length;
}

export function globMatches(glob: PathGlob, path: readonly PathSegment[]): boolean {
  return matchFrom(glob.tokens, 0, path, 0);
}

export function anyGlobMatches(globs: readonly PathGlob[], path: readonly PathSegment[]): boolean {
  for (const g of globs) if (matchFrom(g.tokens, 0, path, 0)) return true;
  return false;
}

/** `['items', 3, 'price']` → `$.items[3].price`; keys that are not identifiers are quoted. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '$';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (IDENT.test(seg)) out += `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/**
 * The field a concrete path belongs to, for counting: array indices become `[*]`, so
 * `$.items[3].price` and `$.items[4].price` are the same field in the report and the noise model.
 */
export function formatField(path: readonly PathSegment[]): string {
  let out = '$';
  for (const seg of path) {
    if (typeof seg === 'number') out += '[*]';
    else if (IDENT.test(seg)) out += `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}
