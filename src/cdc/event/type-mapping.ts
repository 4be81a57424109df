import type { ColumnValue } from './change-event.js';

/**
 * Postgres text output → Debezium JSON value, following the Debezium PostgreSQL connector's default
 * mapping with `decimal.handling.mode=string`, `time.precision.mode=adaptive`,
 * `interval.handling.mode=numeric`, `binary.handling.mode=bytes` (base64 in JSON). The same
 * function serves the snapshot (COPY text format) and the stream (pgoutput text tuples) because
 * both carry the type's text output; sessions run with DateStyle=ISO, TimeZone=UTC,
 * IntervalStyle=postgres, extra_float_digits=3 so that text is unambiguous and lossless.
 * The README's "Type mapping" table lists each case beside Debezium's.
 */
export const OID = {
  bool: 16, bytea: 17, char: 18, name: 19, int8: 20, int2: 21, int4: 23, text: 25, oid: 26, json: 114, xml: 142,
  float4: 700, float8: 701, money: 790, bpchar: 1042, varchar: 1043, date: 1082, time: 1083, timestamp: 1114,
  timestamptz: 1184, interval: 1186, timetz: 1266, bit: 1560, varbit: 1562, numeric: 1700, uuid: 2950, jsonb: 3802,
} as const;

/** Array type OID → element OID for built-in arrays (the catalog supplies the rest). */
export const BUILTIN_ARRAY_ELEM: Readonly<Record<number, number>> = {
  1000: OID.bool, 1001: OID.bytea, 1002: OID.char, 1003: OID.name, 1005: OID.int2, 1007: OID.int4, 1009: OID.text,
  1014: OID.bpchar, 1015: OID.varchar, 1016: OID.int8, 1021: OID.float4, 1022: OID.float8, 1028: OID.oid,
  1115: OID.timestamp, 1182: OID.date, 1183: OID.time, 1185: OID.timestamptz, 1187: OID.interval, 1231: OID.numeric,
  1270: OID.timetz, 199: OID.json, 3807: OID.jsonb, 2951: OID.uuid, 143: OID.xml, 791: OID.money,
};

export interface ColumnType {
  readonly typeOid: number;
  readonly typmod: number;
  /** Element type for arrays (0 otherwise). */
  readonly elemOid: number;
}

const MS_PER_DAY = 86_400_000;
const MICROS_PER_DAY = 86_400_000_000n;

/** Adaptive precision: (0-3) fractional digits → milliseconds, (4-6) or default → microseconds. */
function precision(typmod: number): number {
  return typmod < 0 ? 6 : typmod;
}

function toSafe(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** "2024-01-02" (optionally " BC") → days since 1970-01-01 (Debezium io.debezium.time.Date). */
function parseDateDays(text: string): number {
  const bc = text.endsWith(' BC');
  const [y, m, d] = (bc ? text.slice(0, -3) : text).split('-').map(Number);
  // setUTCFullYear, unlike Date.UTC, does not map years 0-99 to 1900-1999.
  const date = new Date(0);
  date.setUTCFullYear(bc ? 1 - y : y, m - 1, d);
  return Math.floor(date.getTime() / MS_PER_DAY);
}

/** "HH:MM:SS[.ffffff]" → microseconds since midnight. */
function parseTimeMicros(text: string): bigint {
  const [hms, frac = ''] = text.split('.');
  const [h, m, s] = hms.split(':').map(Number);
  const micros = BigInt(frac.padEnd(6, '0').slice(0, 6) || '0');
  return BigInt((h * 60 + m) * 60 + s) * 1_000_000n + micros;
}

/** "YYYY-MM-DD HH:MM:SS[.ffffff][+TZ][ BC]" → microseconds since the epoch (UTC wall time). */
function parseTimestampMicros(text: string): bigint {
  const bc = text.endsWith(' BC');
  const body = bc ? text.slice(0, -3) : text;
  const sp = body.indexOf(' ');
  const date = body.slice(0, sp);
  let time = body.slice(sp + 1);
  let offsetSec = 0;
  const tz = /([+-])(\d\d)(?::?(\d\d))?(?::?(\d\d))?$/.exec(time);
  if (tz) {
    offsetSec = (tz[1] === '-' ? -1 : 1) * (Number(tz[2]) * 3600 + Number(tz[3] ?? 0) * 60 + Number(tz[4] ?? 0));
    time = time.slice(0, tz.index);
  }
  const days = BigInt(parseDateDays(bc ? `${date} BC` : date));
  return days * MICROS_PER_DAY + parseTimeMicros(time) - BigInt(offsetSec) * 1_000_000n;
}

/** Years whose epoch microseconds stay below 2^53, so plain number arithmetic is exact. */
const FAST_YEAR_MIN = 1700;
const FAST_YEAR_MAX = 2200;

function digitsAt(text: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** "YYYY-MM-DD HH:MM:SS[.f{1,6}]" up to `end` (separators only: Postgres prints the digits). */
function hasTimestampShape(text: string, end: number): boolean {
  if (end !== 19 && (end < 21 || end > 26 || text.charCodeAt(19) !== 46)) return false;
  return text.charCodeAt(4) === 45 && text.charCodeAt(7) === 45 && text.charCodeAt(10) === 32 && text.charCodeAt(13) === 58 && text.charCodeAt(16) === 58;
}

/**
 * The common case without BigInt: "YYYY-MM-DD HH:MM:SS[.f{1,6}]" (what these sessions' DateStyle
 * prints), `end` being where it stops (before a zone), year 1700-2200. Returns null for anything
 * else, which the exact path then reads.
 */
function fastTimestampMicros(text: string, end: number): number | null {
  if (!hasTimestampShape(text, end)) return null;
  const y = digitsAt(text, 0, 4);
  const mo = digitsAt(text, 5, 2);
  const d = digitsAt(text, 8, 2);
  const h = digitsAt(text, 11, 2);
  const mi = digitsAt(text, 14, 2);
  const sec = digitsAt(text, 17, 2);
  if (y < FAST_YEAR_MIN || y > FAST_YEAR_MAX || mo < 1 || d < 1 || h < 0 || mi < 0 || sec < 0) return null;
  let frac = 0;
  if (end > 19) {
    const n = end - 20;
    frac = digitsAt(text, 20, n);
    if (frac < 0) return null;
    for (let i = n; i < 6; i++) frac *= 10;
  }
  return Date.UTC(y, mo - 1, d, h, mi, sec) * 1000 + frac;
}

/** ZonedTimestamp: ISO-8601 in UTC with the value's own fractional digits, e.g. 2024-01-02T03:04:05.123456Z. */
function zonedTimestamp(text: string): string {
  if (text === 'infinity' || text === '-infinity') return text;
  // Sessions run with TimeZone=UTC, so the usual text is already UTC wall time ("+00"): only the
  // separators change (Postgres prints no trailing zeros in the fraction).
  const end = text.length - 3;
  if (text.endsWith('+00') && hasTimestampShape(text, end) && (end === 19 || text.charCodeAt(end - 1) !== 48)) {
    return `${text.slice(0, 10)}T${text.slice(11, end)}Z`;
  }
  const micros = parseTimestampMicros(text);
  const ms = Number(micros / 1000n - (micros % 1000n < 0n ? 1n : 0n));
  const sub = Number(((micros % 1_000_000n) + 1_000_000n) % 1_000_000n);
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const frac = sub === 0 ? '' : `.${String(sub).padStart(6, '0').replace(/0+$/, '')}`;
  return `${iso.slice(0, 19)}${frac}Z`;
}

/** ZonedTime: "HH:MM:SS[.f]+TZ" normalised to UTC, e.g. 10:15:30.5Z. */
function zonedTime(text: string): string {
  const tz = /([+-])(\d\d)(?::?(\d\d))?(?::?(\d\d))?$/.exec(text);
  const local = tz ? text.slice(0, tz.index) : text;
  const offset = tz ? (tz[1] === '-' ? -1 : 1) * (Number(tz[2]) * 3600 + Number(tz[3] ?? 0) * 60 + Number(tz[4] ?? 0)) : 0;
  let micros = parseTimeMicros(local) - BigInt(offset) * 1_000_000n;
  micros = ((micros % MICROS_PER_DAY) + MICROS_PER_DAY) % MICROS_PER_DAY;
  const secs = Number(micros / 1_000_000n);
  const sub = Number(micros % 1_000_000n);
  const hh = String(Math.floor(secs / 3600)).padStart(2, '0');
  const mm = String(Math.floor((secs % 3600) / 60)).padStart(2, '0');
  const ss = String(secs % 60).padStart(2, '0');
  const frac = sub === 0 ? '' : `.${String(sub).padStart(6, '0').replace(/0+$/, '')}`;
  return `${hh}:${mm}:${ss}${frac}Z`;
}

/**
 * MicroDuration: IntervalStyle=postgres text ("1 year 2 mons -3 days 04:05:06.5") → approximate
 * microseconds with Debezium's 365.25/12 days per month.
 */
function intervalMicros(text: string): number | bigint {
  let months = 0;
  let days = 0;
  let micros = 0n;
  const re = /(-?\d+) (year|years|mon|mons|day|days)|([+-]?)(\d+):(\d\d):(\d\d)(?:\.(\d+))?/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[2]) {
      const n = Number(m[1]);
      if (m[2].startsWith('year')) months += n * 12;
      else if (m[2].startsWith('mon')) months += n;
      else days += n;
    } else {
      const sign = m[3] === '-' ? -1n : 1n;
      const t = (BigInt(Number(m[4]) * 3600 + Number(m[5]) * 60 + Number(m[6])) * 1_000_000n) + BigInt((m[7] ?? '').padEnd(6, '0').slice(0, 6) || '0');
      micros += sign * t;
    }
  }
  const monthMicros = Math.round(months * (365.25 / 12) * 86_400_000_000);
  return toSafe(BigInt(monthMicros) + BigInt(days) * MICROS_PER_DAY + micros);
}

function byteaBase64(text: string): string {
  if (text.startsWith('\\x')) return Buffer.from(text.slice(2), 'hex').toString('base64');
  // escape format (bytea_output=escape); sessions set hex, this is a fallback
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') {
      if (text[i + 1] === '\\') { bytes.push(92); i++; } else { bytes.push(parseInt(text.slice(i + 1, i + 4), 8)); i += 3; }
    } else {
      bytes.push(text.charCodeAt(i));
    }
  }
  return Buffer.from(bytes).toString('base64');
}

function float(text: string): number | string {
  // JSON has no NaN/Infinity; Debezium's JSON converter fails on them too. Keep the text.
  if (text === 'NaN' || text === 'Infinity' || text === '-Infinity') return text;
  return Number(text);
}

/** Maps one non-null text value of a column to its Debezium JSON value. */
export function mapValue(text: string, t: ColumnType): ColumnValue {
  switch (t.typeOid) {
    case OID.bool: return text === 't';
    case OID.int2:
    case OID.int4: return Number(text);
    case OID.int8:
    case OID.oid: return text.length <= 15 ? Number(text) : toSafe(BigInt(text)); // 15 chars: below 2^53
    case OID.float4:
    case OID.float8: return float(text);
    case OID.numeric:
    case OID.money: return text; // decimal.handling.mode=string
    case OID.date: return text === 'infinity' || text === '-infinity' ? text : parseDateDays(text);
    case OID.time: {
      const micros = parseTimeMicros(text);
      return precision(t.typmod) <= 3 ? Number(micros / 1000n) : toSafe(micros);
    }
    case OID.timetz: return zonedTime(text);
    case OID.timestamp: {
      if (text === 'infinity' || text === '-infinity') return text;
      const fast = fastTimestampMicros(text, text.length);
      if (fast !== null) return precision(t.typmod) <= 3 ? Math.trunc(fast / 1000) : fast;
      const micros = parseTimestampMicros(text);
      return precision(t.typmod) <= 3 ? toSafe(micros / 1000n) : toSafe(micros);
    }
    case OID.timestamptz: return zonedTimestamp(text);
    case OID.interval: return intervalMicros(text);
    case OID.bytea: return byteaBase64(text);
    default: {
      const elem = t.elemOid || BUILTIN_ARRAY_ELEM[t.typeOid] || 0;
      if (elem !== 0 && text.startsWith('{') || (elem !== 0 && text.startsWith('['))) {
        const et: ColumnType = { typeOid: elem, typmod: t.typmod, elemOid: 0 };
        return parseArray(text, (s) => mapValue(s, et));
      }
      return text; // text, varchar, uuid, json(b) as JSON text, xml, inet, enums, ...
    }
  }
}

/** Parses a Postgres array literal `{1,2,"a b",NULL,{3}}` (optionally with `[1:2]=` bounds). */
export function parseArray(text: string, element: (s: string) => ColumnValue): ColumnValue[] {
  let i = 0;
  if (text[0] === '[') i = text.indexOf('=') + 1;
  const parse = (): ColumnValue[] => {
    const out: ColumnValue[] = [];
    i++; // {
    if (text[i] === '}') { i++; return out; }
    while (i < text.length) {
      if (text[i] === '{') {
        out.push(parse());
      } else if (text[i] === '"') {
        i++;
        let s = '';
        while (text[i] !== '"') {
          if (text[i] === '\\') i++;
          s += text[i++];
        }
        i++;
        out.push(element(s));
      } else {
        let j = i;
        while (text[j] !== ',' && text[j] !== '}') j++;
        const raw = text.slice(i, j);
        i = j;
        out.push(raw === 'NULL' ? null : element(raw));
      }
      if (text[i] === ',') { i++; continue; }
      if (text[i] === '}') { i++; return out; }
    }
    return out;
  };
  return parse();
}
