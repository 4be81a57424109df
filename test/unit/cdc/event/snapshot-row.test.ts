import { describe, expect, it } from 'vitest';
import { parseCopyLine } from '../../../../src/cdc/event/copy-text.js';
import { EnvelopeBuilder } from '../../../../src/cdc/event/envelope.js';
import type { TableShape } from '../../../../src/cdc/event/envelope.js';
import { decodeEvent, encodeEvent } from '../../../../src/cdc/event/event-codec.js';
import { OID } from '../../../../src/cdc/event/type-mapping.js';

const shape: TableShape = {
  schema: 'public',
  table: 'users',
  columns: [
    { name: 'id', typeOid: OID.int8, typmod: -1, elemOid: 0 },
    { name: 'email', typeOid: OID.text, typmod: -1, elemOid: 0 },
    { name: 'at', typeOid: OID.timestamptz, typmod: -1, elemOid: 0 },
  ],
  keyColumns: ['id'],
};
const envelope = new EnvelopeBuilder({ topicPrefix: 'legacy', database: 'db', version: 'test', tombstones: true, now: () => 0 });
const source = envelope.snapshotSource(shape, 'true', '0/16B3748', 731, 1_700_000_000_000);
const line = '9223372036854775807\ta\\tb@x.io\t2024-05-06 05:08:09.654321+00';

describe('snapshot row events (COPY text decoded on first read)', () => {
  it('reads as the Debezium row and key the eager decoder gives', () => {
    const e = envelope.read(shape, line, source, { lsn: '0/16B3748', seq: -5 }, 42);
    const after = envelope.row(shape, parseCopyLine(line));
    expect(after).toEqual({ id: 9223372036854775807n, email: 'a\tb@x.io', at: '2024-05-06T05:08:09.654321Z' });
    expect(e.value.after).toEqual(after);
    expect(e.value.after).toBe(e.value.after); // decoded once
    expect(e.key).toEqual({ id: 9223372036854775807n });
    expect(e).toMatchObject({ topic: 'legacy.public.users', schema: 'public', table: 'users', position: { lsn: '0/16B3748', seq: -5 } });
    expect(e.value).toMatchObject({ before: null, op: 'r', ts_ms: 42, source });
  });

  it('serializes as the plain envelope (what Redis and Kafka carry), int8 exact', () => {
    const e = envelope.read(shape, line, source, { lsn: '0/16B3748', seq: -5 }, 42);
    const plain = {
      topic: 'legacy.public.users', schema: 'public', table: 'users', key: { id: 9223372036854775807n },
      value: { before: null, after: envelope.row(shape, parseCopyLine(line)), source, op: 'r', ts_ms: 42 },
      position: { lsn: '0/16B3748', seq: -5 },
    };
    expect(encodeEvent(e)).toBe(encodeEvent(plain as never));
    expect(decodeEvent(encodeEvent(e))).toEqual(plain);
  });

  it('withSource keeps the row and changes only the source', () => {
    const e = envelope.read(shape, line, source, { lsn: '0/16B3748', seq: -5 }, 42);
    const last = e.withSource({ ...source, snapshot: 'last' });
    expect(last.value.source.snapshot).toBe('last');
    expect(e.value.source.snapshot).toBe('true');
    expect(last.value.after).toEqual(e.value.after);
    expect(last.key).toEqual(e.key);
    expect(last.position).toBe(e.position);
  });
});
