import { describe, expect, it } from 'vitest';
import type { TableMapping } from '../../../../src/cdc/config/cdc-model.js';
import type { ChangeEvent } from '../../../../src/cdc/event/change-event.js';
import { EnvelopeBuilder } from '../../../../src/cdc/event/envelope.js';
import type { TableShape } from '../../../../src/cdc/event/envelope.js';
import { OID } from '../../../../src/cdc/event/type-mapping.js';
import { copyTextPlan, copyTextRows } from '../../../../src/cdc/sink/copy-text-plan.js';
import type { TargetTable } from '../../../../src/cdc/sink/target-table.js';

const shape: TableShape = {
  schema: 'public',
  table: 'items',
  columns: [
    { name: 'id', typeOid: OID.int8, typmod: -1, elemOid: 0 },
    { name: 'note', typeOid: OID.text, typmod: -1, elemOid: 0 },
    { name: 'span', typeOid: OID.interval, typmod: -1, elemOid: 0 },
    { name: 'kind', typeOid: 16_500, typmod: -1, elemOid: 0 }, // an enum: its oid is the source database's own
  ],
  keyColumns: ['id'],
};

function target(columns: Array<[from: string, to: string, sinkOid: number]>): TargetTable {
  const mapping = { columns: columns.map(([from, to]) => ({ from, to })) } as unknown as TableMapping;
  return {
    mapping,
    sql: '"public"."t"',
    keyColumns: ['id'],
    columns: columns.map((c) => c[1]),
    types: new Map(),
    sinkTypeOids: new Map(columns.map(([, to, oid]) => [to, oid])),
    sqlTypes: new Map(),
    hasArrayColumn: false,
  };
}

const envelope = new EnvelopeBuilder({ topicPrefix: 'p', database: 'db', version: 'test', tombstones: true, now: () => 0 });
const source = envelope.snapshotSource(shape, 'true', '0/10', 1, 0);
const read = (line: string, n: number) => envelope.read(shape, line, source, { lsn: '0/10', seq: n }, 0);

describe('copyTextPlan', () => {
  it('copies whole lines when the target takes every column, in order, with the same types', () => {
    const whole: TableShape = { ...shape, columns: shape.columns.slice(0, 2) };
    expect(copyTextPlan(target([['id', 'id', OID.int8], ['note', 'label', OID.text]]), whole)).toEqual({ whole: true });
  });

  it('picks fields for a subset or another order', () => {
    expect(copyTextPlan(target([['note', 'note', OID.text], ['id', 'id', OID.int8]]), shape)).toEqual({ whole: false, fields: [1, 0] });
  });

  it('decodes when a type differs, is session-dependent (interval) or is a user type (same oid by chance)', () => {
    expect(copyTextPlan(target([['id', 'id', OID.int4], ['note', 'note', OID.text]]), shape)).toBeNull();
    expect(copyTextPlan(target([['id', 'id', OID.int8], ['span', 'span', OID.interval]]), shape)).toBeNull();
    expect(copyTextPlan(target([['id', 'id', OID.int8], ['kind', 'kind', 16_500]]), shape)).toBeNull();
  });
});

describe('copyTextRows', () => {
  it('joins the rows, picking fields with their escapes untouched', () => {
    const rows = [read('1\ta\\tb\t\\N\tx', 1), read('2\t\\N\t1 day\ty', 2)];
    expect(copyTextRows({ whole: true }, shape, rows)).toBe('1\ta\\tb\t\\N\tx\n2\t\\N\t1 day\ty\n');
    expect(copyTextRows({ whole: false, fields: [1, 0] }, shape, rows)).toBe('a\\tb\t1\n\\N\t2\n');
  });

  it('gives null when a row does not carry its COPY text (it came through a broker as JSON)', () => {
    const plain: ChangeEvent = JSON.parse(JSON.stringify(read('3\tc\t\\N\tz', 3))) as ChangeEvent;
    expect(copyTextRows({ whole: true }, shape, [read('1\ta\t\\N\tx', 1), plain])).toBeNull();
  });
});
