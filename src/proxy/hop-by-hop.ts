/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) are meaningful only for one connection and are never
 * forwarded, nor are headers named in the Connection header. `proxy-connection` and `keep-alive`
 * are included because old clients still send them.
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'proxy-connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
]);

/** Extra hop-by-hop names listed in a Connection header value, lower-cased; null when none. */
export function connectionTokens(value: string | string[] | undefined): string[] | null {
  if (value === undefined) return null;
  const v = Array.isArray(value) ? value.join(',') : value;
  if (v.length === 0 || v === 'keep-alive' || v === 'close') return null;
  const out: string[] = [];
  for (const part of v.split(',')) {
    const t = part.trim().toLowerCase();
    if (t && t !== 'close' && t !== 'keep-alive') out.push(t);
  }
  return out.length ? out : null;
}
