import { describe, expect, it } from 'vitest';
import { OID, mapValue, parseArray } from '../../../src/cdc/event/type-mapping.js';
import { decodeJson, encodeJson } from '../../../src/cdc/event/event-codec.js';
import { compareLsn, comparePositions, formatPosition, lsnToBigInt, lsnToNumber, bigIntToLsn } from '../../../src/cdc/event/position.js';
import { SNAPSHOT_SEQ_BASE } from '../../../src/cdc/event/change-event.js';
import { parseCopyLine } from '../../../src/cdc/event/copy-text.js';
import { seededRandom } from '../../../src/util/clock.js';

const t = (typeOid: number, typmod = -1, elemOid = 0) => ({ typeOid, typmod, elemOid });

describe('Debezium type mapping', () => {
  it('maps integers, keeping int8 exact beyond 2^53', () => {
    expect(mapValue('42', t(OID.int4))).toBe(42);
    expect(mapValue('9007199254740993', t(OID.int8))).toBe(9007199254740993n);
    expect(mapValue('-12', t(OID.int8))).toBe(-12);
  });

  it('keeps numeric as a string and floats as numbers', () => {
    expect(mapValue('12345678901234567890.123456789', t(OID.numeric))).toBe('12345678901234567890.123456789');
    expect(mapValue('0.1', t(OID.float8))).toBe(0.1);
    expect(mapValue('NaN', t(OID.float8))).toBe('NaN');
  });

  it('maps timestamp to MicroTimestamp (µs since epoch) and ms for precision <= 3', () => {
    expect(mapValue('2024-01-02 03:04:05.123456', t(OID.timestamp))).toBe(1704164645123456);
    expect(mapValue('2024-01-02 03:04:05.123', t(OID.timestamp, 3))).toBe(1704164645123);
    expect(mapValue('1969-12-31 23:59:59.999999', t(OID.timestamp))).toBe(-1);
  });

  it('maps timestamptz to a UTC ZonedTimestamp string and timetz to ZonedTime', () => {
    expect(mapValue('2024-01-02 03:04:05.1234+00', t(OID.timestamptz))).toBe('2024-01-02T03:04:05.1234Z');
    expect(mapValue('2024-01-02 03:04:05+02', t(OID.timestamptz))).toBe('2024-01-02T01:04:05Z');
    expect(mapValue('10:15:30.5+01', t(OID.timetz))).toBe('09:15:30.5Z');
  });

  it('reads timestamps the same on the fast path (plain numbers) and the exact path (BigInt)', () => {
    // Postgres text for random instants 1700-2200 with 0-6 fractional digits (trailing zeros
    // trimmed, as Postgres prints them); the expected values come from BigInt arithmetic.
    const random = seededRandom(7);
    const lo = BigInt(Date.UTC(1700, 0, 1)) * 1000n;
    const hi = BigInt(Date.UTC(2200, 11, 31)) * 1000n;
    for (let i = 0; i < 2000; i++) {
      const micros = lo + BigInt(Math.floor(random() * Number(hi - lo)));
      const ms = micros / 1000n - (micros % 1000n < 0n ? 1n : 0n);
      const sub = Number(((micros % 1_000_000n) + 1_000_000n) % 1_000_000n);
      const iso = new Date(Number(ms)).toISOString();
      const frac = sub === 0 ? '' : `.${String(sub).padStart(6, '0').replace(/0+$/, '')}`;
      const text = `${iso.slice(0, 10)} ${iso.slice(11, 19)}${frac}`;
      expect(mapValue(text, t(OID.timestamp))).toBe(Number(micros));
      expect(mapValue(`${text}+00`, t(OID.timestamptz))).toBe(`${iso.slice(0, 19)}${frac}Z`);
    }
    // Outside the fast path's shape: other zones, BC, far years, trailing zeros in the fraction.
    expect(mapValue('2024-01-02 03:04:05.5+05:30', t(OID.timestamptz))).toBe('2024-01-01T21:34:05.5Z');
    expect(mapValue('2024-01-02 03:04:05.500+00', t(OID.timestamptz))).toBe('2024-01-02T03:04:05.5Z');
    expect(mapValue('1500-01-01 00:00:00', t(OID.timestamp))).toBe(BigInt(Date.UTC(1500, 0, 1)) * 1000n);
    expect(mapValue('0044-03-15 12:00:00 BC', t(OID.timestamp))).toBe(-63_517_780_800_000_000n);
    expect(mapValue('20000-01-01 00:00:00', t(OID.timestamp))).toBe(568_971_820_800_000_000n);
    expect(mapValue('123456789012345', t(OID.int8))).toBe(123456789012345);
    expect(mapValue('-1234567890123456', t(OID.int8))).toBe(-1234567890123456);
  });

  it('maps date to days, time to MicroTime, interval to MicroDuration', () => {
    expect(mapValue('1970-01-11', t(OID.date))).toBe(10);
    expect(mapValue('1969-12-31', t(OID.date))).toBe(-1);
    expect(mapValue('0010-01-01', t(OID.date))).toBe(-715875);
    expect(mapValue('01:00:00.000001', t(OID.time))).toBe(3_600_000_001);
    expect(mapValue('1 day 02:00:00', t(OID.interval))).toBe(26 * 3_600_000_000);
    expect(mapValue('1 mon', t(OID.interval))).toBe(Math.round(30.4375 * 86_400_000_000));
    expect(mapValue('-00:00:01.5', t(OID.interval))).toBe(-1_500_000);
  });

  it('passes uuid and json(b) through as text, bytea as base64, bool as boolean', () => {
    expect(mapValue('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', t(OID.uuid))).toBe('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
    expect(mapValue('{"a": [1, 2]}', t(OID.jsonb))).toBe('{"a": [1, 2]}');
    expect(mapValue('\\x0102ff', t(OID.bytea))).toBe(Buffer.from([1, 2, 255]).toString('base64'));
    expect(mapValue('t', t(OID.bool))).toBe(true);
  });

  it('maps arrays element by element, with quoting, NULL and nesting', () => {
    expect(mapValue('{1,2,NULL}', t(1007))).toEqual([1, 2, null]);
    expect(mapValue('{"a b","c\\"d",e}', t(1009))).toEqual(['a b', 'c"d', 'e']);
    expect(parseArray('{{1,2},{3,4}}', Number)).toEqual([[1, 2], [3, 4]]);
    expect(mapValue('{}', t(1007))).toEqual([]);
  });
});

describe('event codec and positions', () => {
  it('round-trips bigint exactly through JSON and leaves look-alike strings alone', () => {
    const v = { a: 9007199254740993n, b: '12345678901234567890', c: [1.5, -2, 1e21], d: 'x"y\\' };
    const text = encodeJson(v);
    expect(text).toContain('"a":9007199254740993');
    expect(decodeJson(text)).toEqual(v);
  });

  it('orders LSNs as 64-bit numbers and positions by (lsn, seq)', () => {
    expect(lsnToBigInt('1/0')).toBe(4294967296n);
    expect(bigIntToLsn(4294967297n)).toBe('1/1');
    expect(compareLsn('0/FFFFFFFF', '1/0')).toBeLessThan(0);
    expect(comparePositions({ lsn: '0/10', seq: 5 }, { lsn: '0/10', seq: 4 })).toBeGreaterThan(0);
    expect(compareLsn('FFFFF/FFFFFFFF', 'FFFFF/FFFFFFFE')).toBeGreaterThan(0);
    expect(lsnToNumber('16/B374D848')).toBe(Number(lsnToBigInt('16/B374D848')));
    expect(() => lsnToNumber('nope')).toThrow(/not an LSN/);
    expect(() => compareLsn('0/XYZ', '0/1')).toThrow(/not an LSN/);
    // snapshot rows sort before a transaction committed at the consistent point, and read as row numbers
    expect(comparePositions({ lsn: '0/10', seq: SNAPSHOT_SEQ_BASE + 999 }, { lsn: '0/10', seq: 0 })).toBeLessThan(0);
    expect(formatPosition({ lsn: '0/10', seq: SNAPSHOT_SEQ_BASE })).toBe('0/10 snapshot row 1');
    expect(formatPosition({ lsn: '0/10', seq: 3 })).toBe('0/10#3');
  });

  it('parses a COPY text row with escapes and NULL', () => {
    expect(parseCopyLine('1\ta\\tb\t\\N\t')).toEqual(['1', 'a\tb', null, '']);
    expect(parseCopyLine('xy\\\\z\t\\n\t\\101\t\\x41')).toEqual(['xy\\z', '\n', 'A', 'A']);
  });
});
