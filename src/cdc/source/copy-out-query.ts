import type { Connection, Submittable } from 'pg';

interface SocketLike {
  read(): Buffer | null;
  pause(): void;
  resume(): void;
  on(event: 'readable', listener: () => void): void;
  removeListener(event: 'readable', listener: () => void): void;
  listeners(event: 'data'): Array<(chunk: Buffer) => void>;
  removeListener(event: 'data', listener: (chunk: Buffer) => void): void;
  addListener(event: 'data', listener: (chunk: Buffer) => void): void;
}

const CODE_COPY_DATA = 0x64; // d
const CODE_COPY_DONE = 0x63; // c
const CODE_ERROR = 0x45; // E
const NEWLINE = 0x0a;

/**
 * `COPY ... TO STDOUT` (text format) read straight off a node-postgres connection's socket, as
 * lines of COPY text (one per row, without the newline; event/copy-text.ts parses them). Postgres
 * sends one CopyData message per row; this turns each message's bytes into a line without the
 * intermediate Buffer per message (and the concatenation after) that a general stream needs, which
 * was a third of the snapshot's decoding time. Rows split across messages are handled too (the
 * protocol allows it).
 *
 * Like pg-copy-streams, it takes the socket from node-postgres while the COPY runs and hands it back
 * (with any unread bytes) at CopyDone or at an ErrorResponse, so node-postgres then finishes the
 * query (CommandComplete, ReadyForQuery) or reports the error through `handleError`. The socket is
 * only read when the consumer asks for more rows: a slow consumer holds the server back (TCP).
 * https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-COPY
 */
export class CopyOutQuery implements Submittable {
  private socket: SocketLike | null = null;
  private pgDataHandler: ((chunk: Buffer) => void) | null = null;
  /** Bytes of a message that continues in the next read. */
  private pending: Buffer | null = null;
  /** Bytes of a row that continues in the next CopyData message. */
  private partialRow: Buffer | null = null;
  private attached = false;
  private finished = false;
  private failure: Error | null = null;
  private wake: (() => void) | null = null;

  constructor(private readonly text: string) {}

  submit(connection: Connection): void {
    const socket = (connection as unknown as { stream: SocketLike }).stream;
    const handlers = socket.listeners('data');
    if (handlers.length !== 1) throw new Error(`expected node-postgres's one data listener, found ${handlers.length}`);
    this.socket = socket;
    this.pgDataHandler = handlers[0];
    socket.removeListener('data', this.pgDataHandler);
    socket.pause();
    socket.on('readable', this.onReadable);
    this.attached = true;
    connection.query(this.text);
  }

  /** The rows' COPY text lines, a socket read at a time; rejects with the server's error if the COPY fails. */
  async *batches(): AsyncGenerator<string[]> {
    for (;;) {
      if (this.failure) throw this.failure;
      if (this.finished) return;
      const chunk = this.attached ? this.socket?.read() ?? null : null;
      if (chunk === null) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        continue;
      }
      const rows = this.parse(chunk);
      if (rows.length > 0) yield rows;
      // The next read may find bytes at once, and a consumer that awaits nothing else would then
      // keep the event loop to itself: let other I/O (the sink's replies) run between reads.
      await new Promise<void>(setImmediate);
    }
  }

  // node-postgres calls these once the socket is back in its hands.
  handleError(err: Error): void {
    this.failure = err;
    this.detach(null);
    this.signal();
  }

  handleCommandComplete(): void {}

  handleReadyForQuery(): void {
    this.finished = true;
    this.signal();
  }

  private readonly onReadable = (): void => this.signal();

  private signal(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private parse(chunk: Buffer): string[] {
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    const rows: string[] = [];
    let pos = 0;
    while (pos + 5 <= buf.length) {
      const code = buf[pos];
      // An error ends the COPY: node-postgres reads it (whole or not) and calls handleError.
      if (code === CODE_ERROR) {
        this.detach(buf.subarray(pos));
        return rows;
      }
      const end = pos + 1 + buf.readUInt32BE(pos + 1);
      if (end > buf.length) break;
      if (code === CODE_COPY_DATA) this.rowsOf(buf, pos + 5, end, rows);
      else if (code === CODE_COPY_DONE) {
        this.detach(buf.subarray(end));
        return rows;
      }
      // CopyOutResponse, notices, parameter status: nothing to do here.
      pos = end;
    }
    if (pos < buf.length) this.pending = Buffer.from(buf.subarray(pos));
    return rows;
  }

  /** The rows in one CopyData message: almost always exactly one, ending the message. */
  private rowsOf(buf: Buffer, start: number, end: number, rows: string[]): void {
    if (this.partialRow === null && buf[end - 1] === NEWLINE && buf.indexOf(NEWLINE, start) === end - 1) {
      rows.push(buf.toString('utf8', start, end - 1));
      return;
    }
    // Text format escapes newlines in values, so a raw newline always ends a row.
    let data = this.partialRow ? Buffer.concat([this.partialRow, buf.subarray(start, end)]) : buf.subarray(start, end);
    this.partialRow = null;
    for (let nl = data.indexOf(NEWLINE); nl !== -1; nl = data.indexOf(NEWLINE)) {
      rows.push(data.toString('utf8', 0, nl));
      data = data.subarray(nl + 1);
    }
    if (data.length > 0) this.partialRow = Buffer.from(data);
  }

  /** Gives the socket back to node-postgres, with the bytes it has not seen yet. */
  private detach(rest: Buffer | null): void {
    if (!this.attached || !this.socket || !this.pgDataHandler) return;
    this.attached = false;
    const socket = this.socket;
    const handler = this.pgDataHandler;
    socket.removeListener('readable', this.onReadable);
    socket.addListener('data', handler);
    if (rest && rest.length > 0) handler(rest);
    // Adding a data listener does not resume a paused socket; resume after this read completes.
    process.nextTick(() => socket.resume());
  }
}
