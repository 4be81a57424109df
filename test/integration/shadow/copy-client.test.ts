import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Server as HttpServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { CallResult } from '../../../src/shadow/candidate-client.js';
import { callCopy } from '../../../src/shadow/candidate-client.js';
import { CopyClient } from '../../../src/shadow/copy-client/copy-client.js';
import { compileShadowPolicy } from '../../../src/shadow/shadow-policy.js';
import { ManualClock } from '../../../src/util/clock.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()!();
});

const policy = compileShadowPolicy({ timeout: '2s', maxBodyBytes: 1024 });

function client(clock = new ManualClock()): CopyClient {
  const c = new CopyClient({ clock });
  cleanup.push(() => c.close());
  return c;
}

/** A node:http server on port 0 that counts its connections. */
async function httpServer(handler: Parameters<typeof createHttpServer>[1]): Promise<{ origin: string; connections: () => number; server: HttpServer }> {
  const server = createHttpServer(handler);
  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections, server };
}

/** A raw TCP server: `onRequest(socket, n)` is called with each request head received on a socket (n from 1). */
async function rawServer(onRequest: (socket: Socket, n: number, head: string) => void): Promise<{ origin: string; connections: () => number }> {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server: NetServer = createNetServer((socket) => {
    connections++;
    sockets.add(socket);
    let buf = '';
    let n = 0;
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      let end: number;
      while ((end = buf.indexOf('\r\n\r\n')) >= 0) {
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        onRequest(socket, ++n, head);
      }
    });
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  }));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections };
}

const get = (c: CopyClient, origin: string, path = '/x', method = 'GET', body: Buffer | null = null, headers: Record<string, string | string[]> = { 'x-ficus-shadow': '1' }) =>
  callCopy(c, { origin, method, path, headers, body }, policy);

const bodyOf = (r: CallResult) => (r.ok ? r.response.body.toString('utf8') : `failed: ${r.kind === 'failure' ? r.reason : r.kind}`);

describe('CopyClient against real servers', () => {
  it('sends method, target, Host, fields and body as given, and reuses one keep-alive connection', async () => {
    const seen: { method: string; url: string; host: string; fields: string[]; body: string }[] = [];
    const srv = await httpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, host: req.headers.host!, fields: req.rawHeaders.filter((_, i) => i % 2 === 0), body: Buffer.concat(chunks).toString() });
        res.end(`answer ${seen.length}`);
      });
    });
    const c = client();
    for (let i = 1; i <= 3; i++) expect(bodyOf(await get(c, srv.origin, `/users/${i}?q=${i}`))).toBe(`answer ${i}`);
    expect(bodyOf(await get(c, srv.origin, '/orders', 'POST', Buffer.from('{"a":1}'), { 'content-type': 'application/json', 'x-multi': ['1', '2'] }))).toBe('answer 4');
    expect(srv.connections()).toBe(1);
    expect(c.connections(srv.origin)).toBe(1);
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual(['GET /users/1?q=1', 'GET /users/2?q=2', 'GET /users/3?q=3', 'POST /orders']);
    expect(seen[0].host).toBe(new URL(srv.origin).host);
    expect(seen[3].body).toBe('{"a":1}');
    expect(seen[3].fields).toEqual(['host', 'content-type', 'x-multi', 'x-multi', 'content-length']);
  });

  it('reads chunked answers and answers without a length (then opens a new connection)', async () => {
    const srv = await httpServer((req, res) => {
      if (req.url === '/chunked') {
        res.write('one,');
        setTimeout(() => res.end('two'), 5);
      } else {
        res.writeHead(200, { connection: 'close' });
        res.end('until close');
      }
    });
    const c = client();
    expect(bodyOf(await get(c, srv.origin, '/chunked'))).toBe('one,two');
    expect(bodyOf(await get(c, srv.origin, '/close'))).toBe('until close');
    expect(bodyOf(await get(c, srv.origin, '/chunked'))).toBe('one,two');
    expect(srv.connections()).toBe(2);
  });

  it('keeps what it needs of each read: a head and a body split over reads arrive whole, on two connections at once', async () => {
    // Reads land in one buffer that the next read reuses, so a part kept by reference would be overwritten.
    const pieces = ['HTTP/1.1 200 OK\r\nContent-Le', 'ngth: 13\r\nX-Which: ', '%s\r\n\r\nfirst', '-half', '-%s'];
    const srv = await rawServer((socket, _n, head) => {
      const which = /GET \/(\w+)/.exec(head)![1];
      pieces.forEach((p, i) => setTimeout(() => socket.write(p.replace('%s', which)), 15 * i));
    });
    const c = client();
    const [a, b] = await Promise.all([get(c, srv.origin, '/aa'), get(c, srv.origin, '/bb')]);
    expect(a.ok && [a.response.headers['x-which'], a.response.body.toString()]).toEqual(['aa', 'first-half-aa']);
    expect(b.ok && [b.response.headers['x-which'], b.response.body.toString()]).toEqual(['bb', 'first-half-bb']);
  });

  it('sends a safe copy again on a new connection when the server closed a reused one, but never a POST', async () => {
    // The server answers the first request on each connection and closes it on the second without
    // answering: the race of a server timing out an idle keep-alive connection.
    const srv = await rawServer((socket, n) => {
      if (n === 1) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      else socket.destroy();
    });
    const c = client();
    expect(bodyOf(await get(c, srv.origin))).toBe('ok');
    expect(bodyOf(await get(c, srv.origin))).toBe('ok');
    expect(srv.connections()).toBe(2);
    const post = await get(c, srv.origin, '/w', 'POST', Buffer.from('x'));
    expect(post).toEqual({ ok: false, kind: 'failure', reason: 'reset' });
    expect(srv.connections()).toBe(2);
  });

  it('closes idle connections at the server\'s keep-alive timeout minus a second, or its own limit', async () => {
    const srv = await rawServer((socket, _n, head) => {
      const hint = /x-hint: (\d+)/.exec(head)?.[1];
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 2\r\n${hint ? `Keep-Alive: timeout=${hint}\r\n` : ''}\r\nok`);
    });
    const clock = new ManualClock();
    const c = client(clock);
    // timeout=1: nothing is left after the margin, so the connection is not kept at all.
    expect(bodyOf(await get(c, srv.origin, '/', 'GET', null, { 'x-hint': '1' }))).toBe('ok');
    expect(bodyOf(await get(c, srv.origin))).toBe('ok');
    expect(srv.connections()).toBe(2);
    // No hint: kept for the client's 4 s; past them the next copy opens a new connection.
    clock.advance(3_999);
    expect(bodyOf(await get(c, srv.origin))).toBe('ok');
    expect(srv.connections()).toBe(2);
    clock.advance(4_000);
    expect(bodyOf(await get(c, srv.origin))).toBe('ok');
    expect(srv.connections()).toBe(3);
  });

  it('turns refused connections, malformed answers and unframeable requests into failures', async () => {
    const closed = await rawServer(() => {});
    const port = new URL(closed.origin).port;
    await cleanup.pop()!(); // nothing listens there now
    const c = client();
    expect(await get(c, `http://127.0.0.1:${port}`)).toEqual({ ok: false, kind: 'failure', reason: 'refused' });
    const garbled = await rawServer((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\nok'));
    expect(await get(c, garbled.origin)).toEqual({ ok: false, kind: 'failure', reason: 'reset' });
    expect(await get(c, garbled.origin, '/x', 'GET', null, { 'x-evil': 'a\r\nx-injected: 1' })).toEqual({ ok: false, kind: 'failure', reason: 'unreachable' });
    expect(await get(c, garbled.origin, '/a b')).toEqual({ ok: false, kind: 'failure', reason: 'unreachable' });
  });

  it('speaks TLS to an https candidate and refuses a certificate no trusted authority signed', async () => {
    const dir = new URL('../../fixtures/tls/', import.meta.url);
    let served = 0;
    const server = createHttpsServer({ key: readFileSync(new URL('key.pem', dir)), cert: readFileSync(new URL('cert.pem', dir)) }, (_req, res) => {
      served++;
      res.end('secret');
    });
    const refused = new Promise<Error>((resolve) => server.once('tlsClientError', resolve));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // A plain-HTTP client would read TLS bytes as a malformed answer (reset); this one fails the handshake.
    expect(await get(client(), origin)).toEqual({ ok: false, kind: 'failure', reason: 'unreachable' });
    // The server saw a TLS handshake the client broke off (it rejected the certificate), and served nothing.
    expect(await refused).toBeInstanceOf(Error);
    expect(served).toBe(0);
  });

  it('drops the connection of an answer that grows past the limit, and the next copy still gets through', async () => {
    const srv = await httpServer((req, res) => {
      if (req.url === '/big') {
        res.write('x'.repeat(800));
        res.end('y'.repeat(800));
      } else res.end('small');
    });
    const c = client();
    expect(await get(c, srv.origin, '/big')).toEqual({ ok: false, kind: 'too-large' });
    expect(bodyOf(await get(c, srv.origin, '/small'))).toBe('small');
    expect(srv.connections()).toBe(2);
  });
});
