import { describe, expect, it } from 'vitest';
import { OID, mapValue } from '../../../../src/cdc/event/type-mapping.js';
import { daysToDate, microsToTimestamp, toSqlValue } from '../../../../src/cdc/sink/sql-value.js';

const t = (typeOid: number, typmod = -1, elemOid = 0) => ({ typeOid, typmod, elemOid });

describe('toSqlValue (inverse of the Debezium type mapping)', () => {
  it('round-trips temporal values through mapValue', () => {
    const cases: Array<[string, ReturnType<typeof t>]> = [
      ['2024-01-02 03:04:05.123456', t(OID.timestamp)],
      ['1969-12-31 23:59:59.999999', t(OID.timestamp)],
      ['2024-01-02 03:04:05.123000', t(OID.timestamp, 3)],
      ['10:20:30.000001', t(OID.time)],
      ['2024-02-29', t(OID.date)],
      ['0044-03-15 BC', t(OID.date)],
    ];
    for (const [text, type] of cases) expect(toSqlValue(mapValue(text, type), type)).toBe(text);
  });

  it('turns base64 into bytes, bigint into digits, and keeps text and JSON text as they are', () => {
    expect(toSqlValue(Buffer.from([0, 255]).toString('base64'), t(OID.bytea))).toEqual(Buffer.from([0, 255]));
    expect(toSqlValue(9_007_199_254_740_993n, t(OID.int8))).toBe('9007199254740993');
    expect(toSqlValue('{"a":1}', t(OID.jsonb))).toBe('{"a":1}');
    expect(toSqlValue(90_000_000, t(OID.interval))).toBe('90000000 microseconds');
    expect(toSqlValue([1, null, 3], t(1007))).toEqual([1, null, 3]);
    expect(toSqlValue(null, t(OID.text))).toBeNull();
  });

  it('formats epoch days and microseconds like Postgres does', () => {
    expect(daysToDate(0)).toBe('1970-01-01');
    expect(microsToTimestamp(-1n)).toBe('1969-12-31 23:59:59.999999');
  });
});
