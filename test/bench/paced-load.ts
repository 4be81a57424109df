import { connect } from 'node:net';
import type { Socket } from 'node:net';
import type { LoadRun, RawRun } from './load-run.js';
import { summarizeRuns } from './load-run.js';

/**
 * An open-loop load generator that spreads requests evenly over time, for the "added p99 at half
 * load" runs. autocannon's `overallRate` is a per-second budget: each connection fires back-to-back
 * until it has spent this second's share, then idles (httpClient.js `reqsMadeThisSecond`), so "half
 * load" with it is full load for the first half of every second, and its p99 mostly measures that
 * burst's queueing. Here request i is due at start + i/rate, is sent on the first idle keep-alive
 * connection, and its latency runs from its due time to the last byte of its response: time spent
 * waiting for a free connection counts (no coordinated omission).
 *
 * Raw sockets and a minimal HTTP/1.1 response reader keep the generator cheap enough to pace
 * ~10k req/s from one Node thread (an undici-based version topped out near half that here). It
 * understands exactly what the benchmark targets send: Content-Length or chunked bodies.
 */
export interface PacedOptions {
  readonly rate: number;
  readonly durationSec: number;
  readonly connections: number;
  /** A request with no complete answer after this long counts as an error (default 10 s). */
  readonly timeoutMs?: number;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const CHUNKED_END = Buffer.from('\r\n0\r\n\r\n');

interface ParsedHead {
  readonly status: number;
  readonly headerBytes: number;
  /** Body length, or -1 for chunked. */
  readonly contentLength: number;
  readonly close: boolean;
}

/** Reads the status line and the two headers the generator needs; null until the head is complete. */
export function parseHead(buf: Buffer): ParsedHead | null {
  const end = buf.indexOf(CRLFCRLF);
  if (end < 0) return null;
  const head = buf.toString('latin1', 0, end);
  const lines = head.split('\r\n');
  const status = Number(lines[0].split(' ')[1]);
  let contentLength = 0;
  let close = false;
  for (let i = 1; i < lines.length; i++) {
    const colon = lines[i].indexOf(':');
    const name = lines[i].slice(0, colon).trim().toLowerCase();
    const value = lines[i].slice(colon + 1).trim().toLowerCase();
    if (name === 'content-length') contentLength = Number(value);
    else if (name === 'transfer-encoding' && value.includes('chunked')) contentLength = -1;
    else if (name === 'connection' && value === 'close') close = true;
  }
  return { status, headerBytes: end + CRLFCRLF.length, contentLength, close };
}

/** Bytes the complete response occupies at the start of `buf`, or -1 if it is not all there yet. */
export function responseLength(buf: Buffer, head: ParsedHead): number {
  if (head.contentLength >= 0) return buf.length >= head.headerBytes + head.contentLength ? head.headerBytes + head.contentLength : -1;
  // Chunked: the JSON bodies served here never contain CRLF, so the terminator cannot appear early.
  if (buf.length - head.headerBytes >= 5 && buf.subarray(head.headerBytes, head.headerBytes + 5).toString('latin1') === '0\r\n\r\n') return head.headerBytes + 5;
  const at = buf.indexOf(CHUNKED_END, head.headerBytes);
  return at < 0 ? -1 : at + CHUNKED_END.length;
}

interface Conn {
  socket: Socket;
  /** Index of the request in flight, or -1 when idle. */
  current: number;
  buf: Buffer;
  head: ParsedHead | null;
}

export async function pacedLoad(url: string, o: PacedOptions): Promise<LoadRun> {
  return summarizeRuns([await pacedRaw(url, o)]);
}

/** pacedLoad without the summary: the raw latencies, for pooling slices of an interleaved run. */
export async function pacedRaw(url: string, o: PacedOptions): Promise<RawRun> {
  if (!(o.rate > 0) || !(o.durationSec > 0) || !(o.connections >= 1)) {
    throw new RangeError(`pacedLoad: rate, durationSec and connections must be positive, got ${o.rate}, ${o.durationSec}, ${o.connections}`);
  }
  const target = new URL(url);
  const port = Number(target.port || 80);
  const request = Buffer.from(`GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nConnection: keep-alive\r\n\r\n`, 'latin1');
  const total = Math.max(1, Math.floor(o.rate * o.durationSec));
  const intervalMs = 1000 / o.rate;
  const timeoutMs = o.timeoutMs ?? 10_000;
  const samples: number[] = [];
  let errors = 0;
  let non2xx = 0;
  let done = 0;
  let next = 0; // next request index to send
  let start = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const idle: Conn[] = [];
  const conns: Conn[] = [];
  const dueAt = (i: number) => start + i * intervalMs;

  const complete = (conn: Conn, ok: boolean, status: number) => {
    const i = conn.current;
    conn.current = -1;
    if (!ok) errors++;
    else if (status >= 200 && status < 300) samples.push(performance.now() - dueAt(i));
    else non2xx++;
    done++;
    if (done >= total) finish();
  };

  const send = () => {
    // Everything due by now goes out on idle connections; the rest waits for a connection or its time.
    const now = performance.now();
    while (idle.length > 0 && next < total && dueAt(next) <= now) {
      const conn = idle.pop() as Conn;
      conn.current = next++;
      conn.socket.write(request);
    }
  };

  const open = (): Promise<Conn> =>
    new Promise((resolve, reject) => {
      const socket = connect(port, target.hostname);
      socket.setNoDelay(true);
      const conn: Conn = { socket, current: -1, buf: Buffer.alloc(0), head: null };
      socket.once('connect', () => resolve(conn));
      socket.once('error', (err) => {
        if (conn.current < 0 && !conns.includes(conn)) reject(err);
      });
      socket.on('data', (chunk: Buffer) => {
        conn.buf = conn.buf.length === 0 ? chunk : Buffer.concat([conn.buf, chunk]);
        conn.head ??= parseHead(conn.buf);
        if (conn.head === null || conn.current < 0) return;
        const len = responseLength(conn.buf, conn.head);
        if (len < 0) return;
        const { status, close } = conn.head;
        conn.buf = conn.buf.subarray(len);
        conn.head = null;
        complete(conn, true, status);
        if (close) socket.destroy();
        else {
          idle.push(conn);
          send();
        }
      });
      socket.once('close', () => {
        // A connection lost mid-request is an error; either way it is replaced while work remains.
        if (conn.current >= 0) complete(conn, false, 0);
        const k = idle.indexOf(conn);
        if (k >= 0) idle.splice(k, 1);
        const c = conns.indexOf(conn);
        if (c >= 0) conns.splice(c, 1);
        if (next < total && start > 0) {
          open().then(
            (fresh) => {
              conns.push(fresh);
              idle.push(fresh);
              send();
            },
            () => {},
          );
        }
      });
    });

  // 1. open every connection before the clock starts, so connecting is not measured.
  for (const conn of await Promise.all(Array.from({ length: o.connections }, open))) {
    conns.push(conn);
    idle.push(conn);
  }
  // 2. the pacing clock: timers fire at >= 1 ms granularity, so at high rates each tick sends the
  //    handful that fell due since the last one.
  start = performance.now();
  const timer = setInterval(() => {
    send();
    if (next >= total) clearInterval(timer);
  }, 1);
  send();
  // 3. wait for the last answer (or the timeout), then close everything.
  const deadline = setTimeout(() => {
    for (const c of conns) if (c.current >= 0) c.socket.destroy();
    finish();
  }, o.durationSec * 1000 + timeoutMs);
  await finished;
  const elapsedSec = (performance.now() - start) / 1000;
  clearTimeout(deadline);
  clearInterval(timer);
  next = total; // no reconnects from here on
  for (const c of [...conns]) c.socket.destroy();
  errors += total - done;
  return { rate: o.rate, samplesMs: samples, elapsedSec, errors, non2xx };
}
