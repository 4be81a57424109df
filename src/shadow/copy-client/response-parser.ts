import type { IncomingHttpHeaders } from 'node:http';
import { addHeader } from '../raw-headers.js';

/**
 * An incremental HTTP/1.1 response parser (RFC 9112) for the shadow copy client: one response at a
 * time on a keep-alive connection, fed socket chunks as they arrive. It frames the body (length,
 * chunked, or until the peer closes), skips 1xx answers, and says whether the connection may carry
 * the next request. Body bytes go to the sink as slices of the chunks fed in.
 *
 * It reads what a candidate service sends back to a copy, so it is strict where a lax reading could
 * mis-frame the next response on the connection (Content-Length, chunk sizes, obsolete line
 * folding, bare LF line ends are refused) and bounded where a peer could make it buffer without end
 * (the head and each chunk-size or trailer line).
 */
export interface ResponseSink {
  /**
   * The final (non-1xx) status and fields (lower-case names, a repeated field as an array of its
   * values); false stops reading (the connection is dropped).
   */
  onHead(status: number, headers: IncomingHttpHeaders): boolean;
  /**
   * A piece of the body; false stops reading. The bytes may live in a read buffer that the next
   * read overwrites: copy what you keep.
   */
  onBody(chunk: Buffer): boolean;
}

/** `more`: waiting for bytes; `complete`: the response ended; `stopped`: the sink said stop; `invalid`: see `error`. */
export type FeedResult = 'more' | 'complete' | 'stopped' | 'invalid';

/** Bytes of a response head (status line and fields) the parser holds before refusing it. */
export const MAX_HEAD_BYTES = 64 * 1024;
/** Bytes of one chunk-size line or of all trailer fields. */
const MAX_LINE_BYTES = 8 * 1024;

const CRLF = Buffer.from('\r\n');
const CRLFCRLF = Buffer.from('\r\n\r\n');
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: [^\r\n]*)?$/;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const DIGITS = /^\d{1,15}$/;
const CHUNK_SIZE = /^[0-9A-Fa-f]{1,12}$/;
const BARE_CR_LF = /[\r\n]/;
const KEEP_ALIVE_TIMEOUT = /(?:^|[\s,])timeout\s*=\s*(\d+)/i;

const enum State {
  Head,
  BodyLength,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  UntilClose,
  Done,
}

export class ResponseParser {
  private state = State.Head;
  private bodyless = false;
  /** Unconsumed bytes of an unfinished head or line, kept until the next chunk. */
  private pending: Buffer | null = null;
  private remaining = 0;
  private trailerBytes = 0;
  /** May the connection carry another request once this response is complete? */
  keepAlive = false;
  /** Seconds from the answer's `Keep-Alive: timeout=N`, or -1 when it sent none. */
  keepAliveTimeoutSec = -1;
  /** Bytes followed the complete response (a peer that answers what was not asked: do not reuse). */
  trailingBytes = false;
  /** Why the last feed or end was `invalid`. */
  error = '';

  /** Starts a new response; `bodyless` for a HEAD request, whose answer never has a body. */
  reset(bodyless: boolean): void {
    this.state = State.Head;
    this.bodyless = bodyless;
    this.pending = null;
    this.remaining = 0;
    this.trailerBytes = 0;
    this.keepAlive = false;
    this.keepAliveTimeoutSec = -1;
    this.trailingBytes = false;
    this.error = '';
  }

  /** Whether any byte of the current response has been read. */
  get started(): boolean {
    return this.state !== State.Head || this.pending !== null;
  }

  feed(chunk: Buffer, sink: ResponseSink): FeedResult {
    let buf = chunk;
    if (this.pending !== null) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    let pos = 0;
    for (;;) {
      switch (this.state) {
        case State.Head: {
          const end = buf.indexOf(CRLFCRLF, pos);
          if (end < 0) return this.keep(buf, pos, MAX_HEAD_BYTES, 'response head');
          if (end - pos > MAX_HEAD_BYTES) return this.invalid(`response head longer than ${MAX_HEAD_BYTES} bytes`);
          const head = buf.toString('latin1', pos, end);
          pos = end + CRLFCRLF.length;
          const parsed = this.parseHead(head);
          if (parsed === null) return 'invalid';
          if (parsed.status < 200) continue; // 1xx: the final answer follows
          if (!sink.onHead(parsed.status, parsed.headers)) return 'stopped';
          break;
        }
        case State.BodyLength:
        case State.ChunkData: {
          const n = Math.min(this.remaining, buf.length - pos);
          if (n > 0) {
            this.remaining -= n;
            pos += n;
            if (!sink.onBody(buf.subarray(pos - n, pos))) return 'stopped';
          }
          if (this.remaining > 0) return 'more';
          this.state = this.state === State.BodyLength ? State.Done : State.ChunkDataEnd;
          break;
        }
        case State.ChunkDataEnd: {
          if (buf.length - pos < 2) return this.keep(buf, pos, 2, 'chunk end');
          if (buf[pos] !== 13 || buf[pos + 1] !== 10) return this.invalid('chunk data not followed by CRLF');
          pos += 2;
          this.state = State.ChunkSize;
          break;
        }
        case State.ChunkSize: {
          const eol = buf.indexOf(CRLF, pos);
          if (eol < 0) return this.keep(buf, pos, MAX_LINE_BYTES, 'chunk-size line');
          const line = buf.toString('latin1', pos, eol);
          pos = eol + 2;
          const semi = line.indexOf(';');
          const hex = (semi < 0 ? line : line.slice(0, semi)).trim();
          if (!CHUNK_SIZE.test(hex)) return this.invalid(`bad chunk size ${JSON.stringify(line.slice(0, 40))}`);
          this.remaining = parseInt(hex, 16);
          this.state = this.remaining === 0 ? State.Trailers : State.ChunkData;
          break;
        }
        case State.Trailers: {
          const eol = buf.indexOf(CRLF, pos);
          if (eol < 0) return this.keep(buf, pos, MAX_LINE_BYTES - this.trailerBytes, 'trailer section');
          this.trailerBytes += eol - pos + 2;
          if (this.trailerBytes > MAX_LINE_BYTES) return this.invalid(`trailer section longer than ${MAX_LINE_BYTES} bytes`);
          const empty = eol === pos;
          pos = eol + 2;
          if (empty) this.state = State.Done;
          break;
        }
        case State.UntilClose: {
          if (pos < buf.length && !sink.onBody(pos === 0 ? buf : buf.subarray(pos))) return 'stopped';
          return 'more';
        }
        case State.Done: {
          this.trailingBytes = pos < buf.length;
          return 'complete';
        }
      }
    }
  }

  /** The peer closed the connection: completes a body read until close, otherwise the response was cut short. */
  end(): FeedResult {
    if (this.state === State.UntilClose || this.state === State.Done) {
      this.state = State.Done;
      this.keepAlive = false;
      return 'complete';
    }
    return this.invalid('connection closed before the response was complete');
  }

  /** Keeps the unfinished head or line for the next chunk: a copy, as the chunk's memory may be reused. */
  private keep(buf: Buffer, pos: number, max: number, what: string): FeedResult {
    if (buf.length - pos > max) return this.invalid(`${what} longer than ${max} bytes`);
    if (pos < buf.length) this.pending = Buffer.from(buf.subarray(pos));
    return 'more';
  }

  private invalid(why: string): 'invalid' {
    this.error = why;
    this.keepAlive = false;
    return 'invalid';
  }

  /**
   * Status line and fields → framing of the body; null (with `error` set) when malformed. It walks
   * the head once with indexOf: no split lines, no trimmed copies, the fields straight into the
   * object comparisons read.
   */
  private parseHead(head: string): { status: number; headers: IncomingHttpHeaders } | null {
    let eol = head.indexOf('\r\n');
    if (eol < 0) eol = head.length;
    const m = STATUS_LINE.exec(eol === head.length ? head : head.slice(0, eol));
    if (m === null) return this.invalidHead(`bad status line ${JSON.stringify(head.slice(0, Math.min(eol, 60)))}`);
    const http11 = m[1] === '1';
    const status = Number(m[2]);
    if (status === 101) return this.invalidHead('unexpected 101 Switching Protocols');
    const headers: Record<string, string | string[]> = {};
    let length = -1;
    let chunked = false;
    let transferEncoding = false;
    let close = !http11;
    for (let pos = eol + 2; pos < head.length; pos = eol + 2) {
      eol = head.indexOf('\r\n', pos);
      if (eol < 0) eol = head.length;
      const colon = head.indexOf(':', pos);
      if (colon <= pos || colon > eol) return this.invalidHead(`bad header line ${JSON.stringify(head.slice(pos, Math.min(eol, pos + 60)))}`);
      const rawName = head.slice(pos, colon);
      if (!TOKEN.test(rawName)) return this.invalidHead(`bad header name ${JSON.stringify(rawName.slice(0, 60))}`);
      let from = colon + 1;
      let to = eol;
      while (from < to && isOws(head.charCodeAt(from))) from++;
      while (to > from && isOws(head.charCodeAt(to - 1))) to--;
      const value = head.slice(from, to);
      if (BARE_CR_LF.test(value)) return this.invalidHead(`bare CR or LF in header ${rawName}`);
      const name = rawName.toLowerCase();
      addHeader(headers, name, value);
      // Only four field names frame the body or the connection.
      if (name === 'content-length') {
        // A list of equal values is one value (RFC 9110 §8.6); anything else mis-frames the body.
        for (const part of value.split(',')) {
          const v = part.trim();
          if (!DIGITS.test(v) || (length >= 0 && Number(v) !== length)) return this.invalidHead(`bad Content-Length ${JSON.stringify(value)}`);
          length = Number(v);
        }
      } else if (name === 'transfer-encoding') {
        transferEncoding = true;
        const codings = value.toLowerCase().split(',');
        chunked = codings[codings.length - 1].trim() === 'chunked';
      } else if (name === 'connection') {
        const tokens = value.toLowerCase().split(',').map((t) => t.trim());
        if (tokens.includes('close')) close = true;
        else if (!http11 && tokens.includes('keep-alive')) close = false;
      } else if (name === 'keep-alive') {
        const t = KEEP_ALIVE_TIMEOUT.exec(value);
        if (t !== null) this.keepAliveTimeoutSec = Number(t[1]);
      }
    }
    // RFC 9112 §6.3: the order of these rules decides how the body is framed.
    if (status < 200) {
      this.state = State.Head;
    } else if (this.bodyless || status === 204 || status === 304) {
      this.state = State.Done;
    } else if (transferEncoding) {
      // With both fields, Transfer-Encoding wins and the connection must not be reused.
      if (length >= 0) close = true;
      this.state = chunked ? State.ChunkSize : State.UntilClose;
    } else if (length >= 0) {
      this.remaining = length;
      this.state = length === 0 ? State.Done : State.BodyLength;
    } else {
      this.state = State.UntilClose;
    }
    if (this.state === State.UntilClose) close = true;
    this.keepAlive = !close;
    return { status, headers };
  }

  private invalidHead(why: string): null {
    this.invalid(why);
    return null;
  }
}

/** Optional whitespace (RFC 9110 §5.6.3): space or horizontal tab. */
const isOws = (c: number) => c === 32 || c === 9;
