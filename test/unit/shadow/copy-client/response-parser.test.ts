import type { IncomingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { FeedResult } from '../../../../src/shadow/copy-client/response-parser.js';
import { MAX_HEAD_BYTES, ResponseParser } from '../../../../src/shadow/copy-client/response-parser.js';

/** Records what the parser reports; `stopAt` makes the sink refuse a head or a body piece. */
class RecordingSink {
  heads: { status: number; headers: IncomingHttpHeaders }[] = [];
  body: Buffer[] = [];
  constructor(private readonly stopAt: 'head' | 'body' | null = null) {}
  onHead(status: number, headers: IncomingHttpHeaders): boolean {
    this.heads.push({ status, headers });
    return this.stopAt !== 'head';
  }
  onBody(chunk: Buffer): boolean {
    this.body.push(Buffer.from(chunk));
    return this.stopAt !== 'body';
  }
  get text(): string {
    return Buffer.concat(this.body).toString('latin1');
  }
}

/** Feeds `wire` in pieces cut at `cuts`; returns the last result. */
function feedIn(parser: ResponseParser, sink: RecordingSink, wire: string, cuts: number[] = []): FeedResult {
  const bytes = Buffer.from(wire, 'latin1');
  let from = 0;
  let r: FeedResult = 'more';
  for (const to of [...cuts, bytes.length]) {
    r = parser.feed(bytes.subarray(from, to), sink);
    from = to;
    if (r !== 'more') return r;
  }
  return r;
}

function parse(wire: string, options: { bodyless?: boolean; cuts?: number[]; stopAt?: 'head' | 'body' } = {}) {
  const parser = new ResponseParser();
  parser.reset(options.bodyless ?? false);
  const sink = new RecordingSink(options.stopAt ?? null);
  const result = feedIn(parser, sink, wire, options.cuts);
  return { parser, sink, result };
}

const CHUNKED = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n';

describe('ResponseParser', () => {
  it('reads a Content-Length answer: status, lower-case fields (repeats as arrays), body, keep-alive hint', () => {
    const { parser, sink, result } = parse('HTTP/1.1 201 Created\r\nContent-Length: 5\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nKeep-Alive: timeout=5\r\nX-Pad:  spaced \t\r\n\r\nhello');
    expect(result).toBe('complete');
    expect(sink.heads).toEqual([{ status: 201, headers: { 'content-length': '5', 'set-cookie': ['a=1', 'b=2'], 'keep-alive': 'timeout=5', 'x-pad': 'spaced' } }]);
    expect(sink.text).toBe('hello');
    expect(parser.keepAlive).toBe(true);
    expect(parser.keepAliveTimeoutSec).toBe(5);
    expect(parser.trailingBytes).toBe(false);
  });

  it('decodes a chunked body with extensions and trailers, cut at every byte', () => {
    for (let cut = 1; cut < CHUNKED.length; cut++) {
      const { parser, sink, result } = parse(CHUNKED, { cuts: [cut] });
      expect(result, `cut at ${cut}`).toBe('complete');
      expect(sink.text, `cut at ${cut}`).toBe('hello, world');
      expect(parser.keepAlive).toBe(true);
    }
    const byteByByte = parse(CHUNKED, { cuts: Array.from({ length: CHUNKED.length - 1 }, (_, i) => i + 1) });
    expect(byteByByte.result).toBe('complete');
    expect(byteByByte.sink.text).toBe('hello, world');
  });

  it('skips 1xx answers and reports only the final one', () => {
    const { sink, result } = parse('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    expect(result).toBe('complete');
    expect(sink.heads.map((h) => h.status)).toEqual([200]);
    expect(sink.text).toBe('ok');
  });

  it('reads no body for HEAD, 204 and 304, whatever Content-Length says', () => {
    expect(parse('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n', { bodyless: true }).result).toBe('complete');
    expect(parse('HTTP/1.1 204 No Content\r\n\r\n').result).toBe('complete');
    const notModified = parse('HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n');
    expect(notModified.result).toBe('complete');
    expect(notModified.parser.keepAlive).toBe(true);
  });

  it('reads a body without length until the peer closes, and never reuses that connection', () => {
    const { parser, sink, result } = parse('HTTP/1.1 200 OK\r\n\r\nall of it');
    expect(result).toBe('more');
    expect(parser.end()).toBe('complete');
    expect(sink.text).toBe('all of it');
    expect(parser.keepAlive).toBe(false);
  });

  it('keeps HTTP/1.0 connections only when asked to, and HTTP/1.1 ones unless told to close', () => {
    expect(parse('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n').parser.keepAlive).toBe(false);
    expect(parse('HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n').parser.keepAlive).toBe(true);
    expect(parse('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n').parser.keepAlive).toBe(false);
  });

  it('lets Transfer-Encoding win over Content-Length, and then closes the connection', () => {
    const { parser, sink, result } = parse('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n');
    expect(result).toBe('complete');
    expect(sink.text).toBe('ok');
    expect(parser.keepAlive).toBe(false);
  });

  it('notes bytes after a complete answer, so the connection is not reused', () => {
    expect(parse('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA').parser.trailingBytes).toBe(true);
  });

  it('stops when the sink refuses the head or a body piece', () => {
    expect(parse('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', { stopAt: 'head' }).result).toBe('stopped');
    expect(parse('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', { stopAt: 'body' }).result).toBe('stopped');
  });

  it('refuses answers that would mis-frame the connection, saying why', () => {
    const cases: [string, RegExp][] = [
      ['HTTP/2 200 OK\r\n\r\n', /bad status line/],
      ['HTTP/1.1 2000 OK\r\n\r\n', /bad status line/],
      ['HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n', /bad Content-Length/],
      ['HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', /bad Content-Length/],
      ['HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n', /bad header/],
      ['HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n', /bad header line/],
      ['HTTP/1.1 200 OK\r\nX-A: a\nb\r\n\r\n', /bare CR or LF/],
      ['HTTP/1.1 101 Switching Protocols\r\n\r\n', /unexpected 101/],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', /bad chunk size/],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokXX', /not followed by CRLF/],
    ];
    for (const [wire, why] of cases) {
      const { parser, result } = parse(wire);
      expect(result, wire).toBe('invalid');
      expect(parser.error, wire).toMatch(why);
      expect(parser.keepAlive).toBe(false);
    }
  });

  it('refuses a head that never ends instead of buffering it without bound', () => {
    const parser = new ResponseParser();
    parser.reset(false);
    const sink = new RecordingSink();
    expect(parser.feed(Buffer.from('HTTP/1.1 200 OK\r\nX-Big: '), sink)).toBe('more');
    expect(parser.feed(Buffer.alloc(MAX_HEAD_BYTES, 'a'), sink)).toBe('invalid');
    expect(parser.error).toMatch(/response head longer than/);
  });

  it('reports a connection closed mid-answer as invalid, and tells whether any byte had arrived', () => {
    const parser = new ResponseParser();
    parser.reset(false);
    expect(parser.started).toBe(false);
    expect(parser.end()).toBe('invalid');
    parser.reset(false);
    const sink = new RecordingSink();
    expect(parser.feed(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'), sink)).toBe('more');
    expect(parser.started).toBe(true);
    expect(parser.end()).toBe('invalid');
    expect(parser.error).toMatch(/closed before the response was complete/);
  });
});
