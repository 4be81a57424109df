import type { ChangeEvent } from './change-event.js';

/**
 * JSON for the wire (Redis, Kafka). Plain JSON.parse would round int8 values above 2^53, so the
 * encoder writes bigint as exact digits and the decoder turns integer literals that do not fit a
 * double back into bigint. Node 20 has no JSON.parse source access, so a small scanner marks those
 * literals (outside strings) before parsing.
 */
const BIG_MARK = '\u0001big:';

export function encodeJson(value: unknown): string {
  const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${BIG_MARK}${v.toString()}` : v));
  // A string holding the mark can only come from the replacer: Postgres text never contains \u0001
  // followed by "big:" in practice, and JSON.stringify always writes that control character escaped.
  return text.replace(/"\\u0001big:(-?\d+)"/g, '$1');
}

export function decodeJson(text: string): unknown {
  let out = '';
  let last = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 92 /* \ */) i += 2;
        else if (d === 34) { i++; break; }
        else i++;
      }
    } else if (c === 45 /* - */ || (c >= 48 && c <= 57)) {
      const start = i;
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if ((d >= 48 && d <= 57) || d === 46 || d === 101 || d === 69 || d === 43 || d === 45) i++;
        else break;
      }
      const lit = text.slice(start, i);
      // Integers with 16+ digits may not survive a double; keep them exact when they don't.
      if (lit.length >= 16 && /^-?\d+$/.test(lit) && !Number.isSafeInteger(Number(lit))) {
        out += `${text.slice(last, start)}"\\u0001big:${lit}"`;
        last = i;
      }
    } else {
      i++;
    }
  }
  if (last === 0) return JSON.parse(text);
  out += text.slice(last);
  return JSON.parse(out, (_k, v: unknown) => (typeof v === 'string' && v.startsWith(BIG_MARK) ? BigInt(v.slice(BIG_MARK.length)) : v));
}

/** One change event as JSON text (topic, schema, table, key, value, position). */
export function encodeEvent(e: ChangeEvent): string {
  return encodeJson(e);
}

export function decodeEvent(text: string): ChangeEvent {
  return decodeJson(text) as ChangeEvent;
}
