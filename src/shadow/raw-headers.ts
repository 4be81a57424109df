import type { IncomingHttpHeaders } from 'node:http';

/**
 * Header pairs as they come off the wire (`name, value, name, value, ...`, strings from the
 * forwarder's undici handler, or Buffers) → IncomingHttpHeaders: lower-case names, a
 * repeated field as an array of its values, as comparisons and samples expect.
 */
export function headersOf(flat: readonly (string | Buffer)[]): IncomingHttpHeaders {
  const h: Record<string, string | string[]> = {};
  for (let i = 0; i < flat.length; i += 2) addHeader(h, text(flat[i]).toLowerCase(), text(flat[i + 1]));
  return h;
}

/** Adds one field (lower-case name) to a headers object: a repeated field becomes an array of its values. */
export function addHeader(h: Record<string, string | string[]>, name: string, value: string): void {
  const prev = h[name];
  if (prev === undefined) h[name] = value;
  else if (Array.isArray(prev)) prev.push(value);
  else h[name] = [prev, value];
}

/**
 * The other way: a headers object → name/value pairs, a field held as an array giving one pair per
 * value. For callers that hold a response as an object (undici's request()) and hand it over as
 * ShadowExchange.primary.rawHeaders.
 */
export function headerPairs(headers: Readonly<Record<string, string | string[] | number | undefined>>): string[] {
  const out: string[] = [];
  for (const name in headers) {
    const v = headers[name];
    if (v === undefined) continue;
    if (Array.isArray(v)) for (let i = 0; i < v.length; i++) out.push(name, v[i]);
    else out.push(name, String(v));
  }
  return out;
}

const text = (x: string | Buffer): string => (typeof x === 'string' ? x : x.toString('latin1'));
