import type { EventPosition } from './change-event.js';
import { SNAPSHOT_SEQ_BASE } from './change-event.js';

/** "X/Y" (hex halves of a 64-bit WAL position) → bigint. */
export function lsnToBigInt(lsn: string): bigint {
  const slash = lsn.indexOf('/');
  if (slash === -1) throw new Error(`not an LSN: ${lsn}`);
  return (BigInt(`0x${lsn.slice(0, slash)}`) << 32n) | BigInt(`0x${lsn.slice(slash + 1)}`);
}

export function bigIntToLsn(v: bigint): string {
  return `${(v >> 32n).toString(16).toUpperCase()}/${(v & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** Debezium's INT64 `lsn`: exact as a JS number for any WAL below 8 PiB. */
export function lsnToNumber(lsn: string): number {
  const slash = lsn.indexOf('/');
  if (slash === -1) throw new Error(`not an LSN: ${lsn}`);
  const n = parseInt(lsn.slice(0, slash), 16) * 0x1_0000_0000 + parseInt(lsn.slice(slash + 1), 16);
  if (Number.isNaN(n)) throw new Error(`not an LSN: ${lsn}`);
  return n;
}

/** Orders two LSNs (each half is below 2^32, so the number form is exact). */
export function compareLsn(a: string, b: string): number {
  if (a === b) return 0;
  const x = lsnToNumber(a);
  const y = lsnToNumber(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Orders positions by (commit lsn, seq); negative when a is older. */
export function comparePositions(a: EventPosition, b: EventPosition): number {
  return compareLsn(a.lsn, b.lsn) || a.seq - b.seq;
}

export const ZERO_LSN = '0/0';

/** "X/Y#seq" for people; a snapshot row reads "X/Y snapshot row N" (its seq is SNAPSHOT_SEQ_BASE + N - 1). */
export function formatPosition(p: EventPosition): string {
  return p.seq < 0 ? `${p.lsn} snapshot row ${p.seq - SNAPSHOT_SEQ_BASE + 1}` : `${p.lsn}#${p.seq}`;
}
