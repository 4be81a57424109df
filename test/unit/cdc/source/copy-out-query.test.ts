import { PassThrough } from 'node:stream';
import type { Connection } from 'pg';
import { describe, expect, it } from 'vitest';
import { parseCopyLine } from '../../../../src/cdc/event/copy-text.js';
import { CopyOutQuery } from '../../../../src/cdc/source/copy-out-query.js';
import { until } from '../../../helpers/http-servers.js';

/** Protocol messages as the server sends them: code byte, int32 length (itself included), body. */
function message(code: string, body: Buffer | string = Buffer.alloc(0)): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  const head = Buffer.alloc(5);
  head.write(code, 0, 'latin1');
  head.writeUInt32BE(b.length + 4, 1);
  return Buffer.concat([head, b]);
}

/** A socket as node-postgres leaves it (one data listener) and the query text sent on it. */
function fakeConnection(): { connection: Connection; socket: PassThrough; handedBack: Buffer[]; sent: string[] } {
  const socket = new PassThrough();
  const handedBack: Buffer[] = [];
  socket.on('data', (b: Buffer) => handedBack.push(b));
  const sent: string[] = [];
  const connection = { stream: socket, query: (text: string) => sent.push(text) } as unknown as Connection;
  return { connection, socket, handedBack, sent };
}

async function collect(q: CopyOutQuery): Promise<Array<(string | null)[]>> {
  const rows: Array<(string | null)[]> = [];
  for await (const batch of q.batches()) rows.push(...batch.map(parseCopyLine));
  return rows;
}

describe('CopyOutQuery (COPY TO STDOUT off the socket)', () => {
  it('reads one row per CopyData, across reads that split messages and characters, and hands the rest back', async () => {
    const { connection, socket, handedBack, sent } = fakeConnection();
    const q = new CopyOutQuery('COPY t TO STDOUT');
    q.submit(connection);
    expect(sent).toEqual(['COPY t TO STDOUT']);
    const wire = Buffer.concat([
      message('H', Buffer.from([0, 0, 2, 0, 0, 0, 0])),
      message('d', '1\tgrüße\t\\N\n'),
      message('N', 'a notice'),
      message('d', `2\t${'x'.repeat(70_000)}\n`),
      // one row split over two CopyData messages (the protocol allows it), inside "ü"
      Buffer.concat([message('d', Buffer.concat([Buffer.from('3\tm'), Buffer.from([0xc3])])), message('d', Buffer.from([0xbc, 0x0a]))]),
      message('c'),
      message('C', 'COPY 3\0'),
      message('Z', 'I'),
    ]);
    const rows = collect(q);
    // dribble the bytes in small reads, cutting through headers and multi-byte characters
    for (let i = 0; i < wire.length; i += 7) socket.write(wire.subarray(i, i + 7));
    // node-postgres reads ReadyForQuery only once the query has handed the socket back after
    // CopyDone: wait for that hand-back (by order, not a fixed sleep: the reader yields between reads).
    const tail = Buffer.concat([message('C', 'COPY 3\0'), message('Z', 'I')]);
    await until(() => Buffer.concat(handedBack).equals(tail), 10_000, 'the bytes after CopyDone handed back');
    q.handleReadyForQuery(); // what node-postgres does when it reads ReadyForQuery
    const got = await rows;
    expect(got.map((r) => [r[0], r[1]?.slice(0, 6), r[1]?.length, r[2]])).toEqual([
      ['1', 'grüße', 5, null],
      ['2', 'xxxxxx', 70_000, undefined],
      ['3', 'mü', 2, undefined],
    ]);
    // node-postgres got everything after CopyDone, and the socket is its own again
    expect(Buffer.concat(handedBack)).toEqual(tail);
    expect(socket.listenerCount('readable')).toBe(0);
  });

  it('gives an ErrorResponse to node-postgres and rejects with the error it reports', async () => {
    const { connection, socket, handedBack } = fakeConnection();
    const q = new CopyOutQuery('COPY t TO STDOUT');
    q.submit(connection);
    const error = message('E', 'SERROR\0C42P01\0Mrelation "t" does not exist\0\0');
    socket.write(Buffer.concat([message('H', Buffer.from([0, 0, 0])), message('d', '1\n'), error]));
    const it = q.batches();
    expect((await it.next()).value).toEqual(['1']);
    const next = it.next();
    await until(() => Buffer.concat(handedBack).equals(error), 10_000, 'the ErrorResponse handed back');
    q.handleError(new Error('relation "t" does not exist'));
    await expect(next).rejects.toThrow('relation "t" does not exist');
  });
});
