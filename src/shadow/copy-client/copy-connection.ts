import type { Socket } from 'node:net';
import type { CandidateFailure } from '../record/shadow-record.js';
import type { ResponseSink } from './response-parser.js';
import { ResponseParser } from './response-parser.js';

/** One copy as it goes on the wire: built once, sent once (twice when a stale connection is retried). */
export interface CopyWire {
  readonly method: string;
  /** Request line and header section, latin1 (see requestHead). */
  readonly head: string;
  readonly body: Buffer | null;
  /** Safe to send again when a reused keep-alive connection turns out closed (GET, HEAD, OPTIONS). */
  readonly retriable: boolean;
}

/** The side of a copy that waits for its answer (CopyCall). */
export interface CopyExchange extends ResponseSink {
  /** The copy is on this connection now, so the exchange can abort it. */
  attach(conn: CopyConnection): void;
  onComplete(): void;
  onFailure(reason: CandidateFailure): void;
}

/** What a connection needs from its pool. */
export interface ConnectionOwner {
  release(conn: CopyConnection, keepAliveTimeoutSec: number): void;
  forget(conn: CopyConnection): void;
  /** Sends `wire` again on a new connection (the retry after a stale keep-alive connection). */
  resend(ex: CopyExchange, wire: CopyWire): void;
}

/** Node's errno codes → the shadow failure kinds. */
export function failureOf(code: string): CandidateFailure {
  switch (code) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'ETIMEDOUT':
      return 'timeout';
    case '':
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ECONNABORTED':
      return 'reset';
    default:
      return 'unreachable';
  }
}

/**
 * One keep-alive connection to a candidate, carrying one copy at a time (no pipelining: a slow
 * answer must not hold up the copies behind it). The socket's listeners are bound once per
 * connection, not per copy. A copy whose connection the server closed before any byte of the
 * answer came back, on a connection that had already carried one, is sent once more on a new
 * connection when its method is safe: that is the keep-alive race every HTTP client meets when a
 * server times an idle connection out just as a request goes out.
 */
export class CopyConnection {
  private readonly parser = new ResponseParser();
  private exchange: CopyExchange | null = null;
  private wire: CopyWire | null = null;
  /** The copy in flight is not the first on this connection. */
  private reused = false;
  private carried = 0;
  private errorCode = '';
  private closed = false;
  /** Monotonic ms when the connection last went idle, and how long it may stay so. */
  idleSince = 0;
  idleLimitMs = 0;

  private readonly socket: Socket;

  /**
   * `open` makes the socket. It is handed `onRead` for sockets that read through `onread` (net's
   * reusable read buffer: no Buffer and no stream event per read); a socket that does not use it
   * (TLS) gets its 'data' events read instead.
   */
  constructor(
    private readonly owner: ConnectionOwner,
    open: (onRead: (nread: number, buf: Uint8Array) => boolean) => { socket: Socket; usesOnRead: boolean },
  ) {
    const { socket, usesOnRead } = open(this.onRead);
    this.socket = socket;
    socket.setNoDelay(true);
    if (!usesOnRead) socket.on('data', this.onData);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  send(ex: CopyExchange, wire: CopyWire): void {
    this.exchange = ex;
    this.wire = wire;
    this.reused = this.carried > 0;
    this.errorCode = '';
    this.parser.reset(wire.method === 'HEAD');
    ex.attach(this);
    if (wire.body === null || wire.body.length === 0) {
      this.socket.write(wire.head, 'latin1');
    } else {
      // Head and body in one system call.
      this.socket.cork();
      this.socket.write(wire.head, 'latin1');
      this.socket.write(wire.body);
      this.socket.uncork();
    }
  }

  /** The exchange gave up on its copy (timeout, too large, shutdown): the connection goes with it. */
  abort(ex: CopyExchange): void {
    if (this.exchange !== ex) return;
    this.exchange = null;
    this.wire = null;
    this.destroy();
  }

  destroy(): void {
    if (!this.closed) this.socket.destroy();
  }

  /** `onread`'s callback: the bytes are in a buffer reused for the next read (the parser and the exchange copy what they keep). */
  private readonly onRead = (nread: number, buf: Uint8Array): boolean => {
    // `buf` is the Buffer the pool passed as `onread.buffer`.
    this.onData((buf as Buffer).subarray(0, nread));
    return true;
  };

  private readonly onData = (chunk: Buffer): void => {
    const ex = this.exchange;
    if (ex === null) {
      // Bytes nobody asked for: the connection cannot be trusted with the next copy.
      this.destroy();
      return;
    }
    const r = this.parser.feed(chunk, ex);
    if (r === 'more') return;
    this.exchange = null;
    this.wire = null;
    if (r === 'complete') {
      this.carried++;
      if (this.parser.keepAlive && !this.parser.trailingBytes && !this.closed) this.owner.release(this, this.parser.keepAliveTimeoutSec);
      else this.destroy();
      ex.onComplete();
      return;
    }
    this.destroy();
    // `stopped`: the exchange settled itself (too large). `invalid`: a malformed answer breaks the connection.
    if (r === 'invalid') ex.onFailure('reset');
  };

  private readonly onError = (err: NodeJS.ErrnoException): void => {
    this.errorCode = err.code ?? 'unknown';
  };

  private readonly onClose = (): void => {
    this.closed = true;
    this.owner.forget(this);
    const ex = this.exchange;
    const wire = this.wire;
    if (ex === null || wire === null) return;
    this.exchange = null;
    this.wire = null;
    if (this.parser.started && this.parser.end() === 'complete') {
      ex.onComplete();
      return;
    }
    if (this.reused && !this.parser.started && wire.retriable) {
      this.owner.resend(ex, wire);
      return;
    }
    ex.onFailure(failureOf(this.errorCode));
  };
}
