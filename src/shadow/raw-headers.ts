import type { IncomingHttpHeaders } from 'node:http';

/**
 * Header pairs as they come off the wire (`name, value, name, value, ...`, strings from the
 * forwarder, Buffers from an undici dispatch handler) → IncomingHttpHeaders: lower-case names, a
 * repeated field as an array of its values, as comparisons and samples expect.
 */
export function headersOf(flat: readonly (string | Buffer)[]): IncomingHttpHeaders {
  const h: Record<string, string | string[]> = {};
  for (let i = 0; i < flat.length; i += 2) {
    const name = text(flat[i]).toLowerCase();
    const value = text(flat[i + 1]);
    const prev = h[name];
    if (prev === undefined) h[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else h[name] = [prev, value];
  }
  return h;
}

const text = (x: string | Buffer): string => (typeof x === 'string' ? x : x.toString('latin1'));
