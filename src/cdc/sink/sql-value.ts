import type { ColumnValue } from '../event/change-event.js';
import type { ColumnType } from '../event/type-mapping.js';
import { BUILTIN_ARRAY_ELEM, OID } from '../event/type-mapping.js';

/**
 * Debezium JSON value → a Postgres query parameter: the inverse of event/type-mapping.ts
 * `mapValue`, read with the SOURCE column's type (precision decides milliseconds vs microseconds,
 * as Debezium's adaptive time mode does). Values the target can take as they are (text, numbers,
 * ISO timestamps, JSON text) pass through; temporal integers become Postgres literals, base64
 * becomes bytes, bigint becomes its digits.
 */
export type SqlValue = string | number | boolean | null | Buffer | SqlValue[];

const MICROS_PER_DAY = 86_400_000_000n;

function pad(n: number | bigint, w: number): string {
  return String(n).padStart(w, '0');
}

/** Days since 1970-01-01 → "YYYY-MM-DD" (or "YYYY-MM-DD BC"). */
export function daysToDate(days: number): string {
  const d = new Date(days * 86_400_000);
  const y = d.getUTCFullYear();
  const body = `${pad(y > 0 ? y : 1 - y, 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}`;
  return y > 0 ? body : `${body} BC`;
}

/** Microseconds since midnight → "HH:MM:SS.ffffff". */
export function microsToTime(micros: bigint): string {
  const secs = micros / 1_000_000n;
  const sub = micros % 1_000_000n;
  return `${pad(secs / 3600n, 2)}:${pad((secs % 3600n) / 60n, 2)}:${pad(secs % 60n, 2)}.${pad(sub, 6)}`;
}

/** Microseconds since the epoch (UTC wall time) → "YYYY-MM-DD HH:MM:SS.ffffff[ BC]". */
export function microsToTimestamp(micros: bigint): string {
  let days = micros / MICROS_PER_DAY;
  let rest = micros % MICROS_PER_DAY;
  if (rest < 0n) {
    rest += MICROS_PER_DAY;
    days -= 1n;
  }
  const date = daysToDate(Number(days));
  const bc = date.endsWith(' BC');
  return `${bc ? date.slice(0, -3) : date} ${microsToTime(rest)}${bc ? ' BC' : ''}`;
}

function asBigInt(v: ColumnValue): bigint | null {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  return null;
}

function precision(typmod: number): number {
  return typmod < 0 ? 6 : typmod;
}

export function toSqlValue(v: ColumnValue, t: ColumnType | undefined): SqlValue {
  if (v === null) return null;
  if (t === undefined) return generic(v);
  const elem = t.elemOid || BUILTIN_ARRAY_ELEM[t.typeOid] || 0;
  if (Array.isArray(v) && elem !== 0) {
    const et: ColumnType = { typeOid: elem, typmod: t.typmod, elemOid: 0 };
    return (v as readonly ColumnValue[]).map((x) => toSqlValue(x, et));
  }
  const big = asBigInt(v);
  switch (t.typeOid) {
    case OID.date:
      return typeof v === 'number' ? daysToDate(v) : generic(v);
    case OID.time:
      if (big === null) return generic(v);
      return microsToTime(precision(t.typmod) <= 3 ? big * 1000n : big);
    case OID.timestamp:
      if (big === null) return generic(v);
      return microsToTimestamp(precision(t.typmod) <= 3 ? big * 1000n : big);
    case OID.interval:
      return big === null ? generic(v) : `${big} microseconds`;
    case OID.bytea:
      return typeof v === 'string' ? Buffer.from(v, 'base64') : generic(v);
    default:
      return generic(v);
  }
}

function generic(v: ColumnValue): SqlValue {
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v)) return (v as readonly ColumnValue[]).map(generic);
  // Objects only come from JSON-ish columns; Postgres parses the text.
  if (typeof v === 'object' && v !== null) return JSON.stringify(v);
  return v as string | number | boolean;
}
