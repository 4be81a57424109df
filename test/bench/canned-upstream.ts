import { createServer } from 'node:net';
import type { Socket } from 'node:net';
import { listenOn } from './proxy-bench-peers.js';
import type { StartedPeer } from './proxy-bench-peers.js';

const HEAD_END = Buffer.from('\r\n\r\n');
/** An unfinished request head longer than this closes the connection instead of growing. */
const MAX_HEAD_BYTES = 64 * 1024;

/**
 * The byte-for-byte answer `startUpstream()` gives to a GET (status line, the same headers, the
 * same body), with a Date header refreshed once a second.
 */
function cannedAnswer(body: Buffer, date: string): Buffer {
  const head = `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nDate: ${date}\r\nConnection: keep-alive\r\nKeep-Alive: timeout=65\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

/**
 * The shadow goal's candidate: a stand-in for a service on another host. It answers every bodiless
 * request (the bench copies GETs only) with the upstream's bytes straight from a net socket,
 * reading no more of a request than where its head ends; pipelined heads get their answers in one
 * write. A node:http candidate spent 31-57 µs of CPU per copy in the shadow runs, this one 18-21:
 * on the 2 cores the bench shares, every microsecond of it is taken from the processes measured,
 * which a candidate on its own host would not take. A request with a body (Content-Length or
 * Transfer-Encoding) closes the connection.
 */
export async function startCannedUpstream(body: Buffer): Promise<StartedPeer> {
  let answer = cannedAnswer(body, new Date().toUTCString());
  const refresh = setInterval(() => {
    answer = cannedAnswer(body, new Date().toUTCString());
  }, 1000);
  refresh.unref();
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    let pending: Buffer | null = null;
    socket.on('data', (chunk: Buffer) => {
      const buf: Buffer = pending === null ? chunk : Buffer.concat([pending, chunk]);
      let from = 0;
      let answers = 0;
      for (;;) {
        const end = buf.indexOf(HEAD_END, from);
        if (end < 0) break;
        const head = buf.toString('latin1', from, end).toLowerCase();
        if (head.includes('\r\ncontent-length:') || head.includes('\r\ntransfer-encoding:')) {
          socket.destroy();
          return;
        }
        answers++;
        from = end + HEAD_END.length;
      }
      if (buf.length - from > MAX_HEAD_BYTES) {
        socket.destroy();
        return;
      }
      pending = from < buf.length ? Buffer.from(buf.subarray(from)) : null;
      if (answers === 1) socket.write(answer);
      else if (answers > 1) socket.write(Buffer.concat(new Array<Buffer>(answers).fill(answer)));
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
  });
  return listenOn(server, () => {
    clearInterval(refresh);
    for (const s of sockets) s.destroy();
  });
}
