/**
 * Request-target normalization. The invariant: the path that routing sees is exactly the path the
 * upstream receives. Decisions (README "Path normalization"):
 * 1. Only origin-form targets (`/path?query`) are accepted; anything else is 400.
 * 2. Control characters, NUL, `#` and a literal backslash are rejected (servers disagree on them).
 * 3. Percent-escapes must be valid hex. Escapes of unreserved characters (RFC 3986 §2.3: letters,
 *    digits, `-._~`) are decoded, so `%2e%2E` is `..`; other escapes are kept, upper-cased.
 *    Encoded `/` (`%2F`) and `\` (`%5C`) are rejected: a router would see one segment where a
 *    decoding upstream sees two.
 * 4. Runs of `/` collapse to one.
 * 5. Dot segments are removed (RFC 3986 §5.2.4): `/api/users/../admin` is `/api/admin`, and is
 *    routed and forwarded as such. A path that climbs above the root is rejected.
 * 6. Case is preserved and significant. The query string passes through untouched.
 */
export interface NormalizedTarget {
  readonly path: string;
  /** including the leading "?", or "" */
  readonly query: string;
  /** path segments without the leading empty one */
  readonly segs: string[];
  /** number of significant segments (a trailing slash does not count) */
  readonly segCount: number;
}

const HEX = /^[0-9A-Fa-f]{2}$/;

// A saved reference: once any module subclasses String (ioredis does), V8 stops treating
// String.prototype as pristine and `s.charCodeAt(i)` gets several times slower process-wide;
// calling the saved function keeps the fast path (see README "Design notes").
const charCodeAt = String.prototype.charCodeAt;

function isUnreserved(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e;
}

/** Returns the normalized target, or a string saying why the target is rejected. */
export function normalizeTarget(target: string): NormalizedTarget | string {
  if (target.length === 0 || charCodeAt.call(target, 0) !== 0x2f) return 'the request target must be a path starting with "/"';
  const qi = target.indexOf('?');
  let path = qi === -1 ? target : target.slice(0, qi);
  const query = qi === -1 ? '' : target.slice(qi);

  let hasPct = false;
  let hasDot = false;
  let hasDoubleSlash = false;
  for (let i = 0; i < path.length; i++) {
    const c = charCodeAt.call(path, i);
    if (c <= 0x20 || c === 0x7f) return 'the path contains a control character or space';
    if (c === 0x5c) return 'the path contains a backslash';
    if (c === 0x23) return 'the path contains "#"';
    if (c === 0x25) hasPct = true;
    else if (c === 0x2e) hasDot = true;
    else if (c === 0x2f && i > 0 && charCodeAt.call(path, i - 1) === 0x2f) hasDoubleSlash = true;
  }

  if (hasPct) {
    let out = '';
    let last = 0;
    for (let i = path.indexOf('%'); i !== -1; i = path.indexOf('%', i + 1)) {
      const hex = path.slice(i + 1, i + 3);
      if (!HEX.test(hex)) return `the path has an invalid percent-escape at offset ${i}`;
      const code = parseInt(hex, 16);
      if (code === 0x2f || code === 0x5c) return 'the path contains an encoded "/" or "\\" (%2F, %5C)';
      if (code < 0x20 || code === 0x7f) return 'the path contains an encoded control character';
      out += path.slice(last, i) + (isUnreserved(code) ? String.fromCharCode(code) : '%' + hex.toUpperCase());
      if (code === 0x2e) hasDot = true;
      last = i + 3;
    }
    path = out + path.slice(last);
  }

  if (hasDoubleSlash) path = path.replace(/\/{2,}/g, '/');

  if (hasDot) {
    const parts = path.split('/');
    const out: string[] = [];
    for (let i = 1; i < parts.length; i++) {
      const p = parts[i];
      const isLast = i === parts.length - 1;
      if (p === '.') {
        if (isLast) out.push('');
      } else if (p === '..') {
        if (out.length === 0) return 'the path climbs above the root with ".."';
        out.pop();
        if (isLast) out.push('');
      } else {
        out.push(p);
      }
    }
    path = '/' + out.join('/');
  }

  const segs = path.length === 1 ? [] : path.slice(1).split('/');
  let segCount = segs.length;
  if (segCount > 0 && segs[segCount - 1] === '') segCount--;
  return { path, query, segs, segCount };
}
