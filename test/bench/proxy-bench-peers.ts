import { Agent, createServer } from 'node:http';
import type { AddressInfo, Server as NetServer } from 'node:net';
import httpProxy from 'http-proxy';

/**
 * The servers the proxy benchmark runs against, as plain in-process starters. The benchmark runs
 * each in its own child process (see proxy-bench-peer-main.ts) so none shares an event loop with
 * the load generator; tests start them in-process.
 */
export interface StartedPeer {
  readonly url: string;
  close(): Promise<void>;
}

/** Exactly 1 KiB of JSON: the shape of a small API answer, built once so the upstream costs ~nothing. */
export function oneKibJson(): Buffer {
  const base = { id: '6f1c3a52-0c5e-4b7e-9a51-2d3c4b5a6f70', email: 'Ada.Lovelace@Example.com', name: 'Ada Lovelace', status: 'active', pad: '' };
  const size = Buffer.byteLength(JSON.stringify(base));
  return Buffer.from(JSON.stringify({ ...base, pad: 'x'.repeat(1024 - size) }));
}

/** Listens on a free loopback port; close() stops listening and ends the open connections with `closeConnections`. */
export async function listenOn(server: NetServer, closeConnections: () => void): Promise<StartedPeer> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        closeConnections();
      }),
  };
}

/** The upstream: answers every request with the same 1 KiB JSON body, keep-alive on. */
export async function startUpstream(): Promise<StartedPeer> {
  const body = oneKibJson();
  const headers = { 'content-type': 'application/json', 'content-length': String(body.length) };
  const server = createServer((req, res) => {
    // Drain any request body so the connection can be reused.
    req.resume();
    res.writeHead(200, headers);
    res.end(body);
  });
  // Longer than any proxy's idle timeout, so the proxy (not the upstream) decides when to close.
  server.keepAliveTimeout = 65_000;
  return listenOn(server, () => server.closeAllConnections());
}

/**
 * The bare http-proxy peer: the baseline "what a few lines of node proxy cost". Without an agent
 * http-proxy sends `connection: close` upstream, so a keep-alive agent is what makes it a fair peer.
 */
export async function startHttpProxy(upstreamUrl: string): Promise<StartedPeer> {
  const agent = new Agent({ keepAlive: true, maxSockets: 128, maxFreeSockets: 128 });
  const proxy = httpProxy.createProxyServer({ target: upstreamUrl, agent });
  proxy.on('error', (_err, _req, res) => {
    // http-proxy types `res` as a socket too (for upgrades); only an HTTP response can take a 502.
    if ('writeHead' in res && !res.headersSent) {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('bad gateway');
    } else {
      res.destroy();
    }
  });
  const server = createServer((req, res) => proxy.web(req, res));
  server.keepAliveTimeout = 65_000;
  const started = await listenOn(server, () => server.closeAllConnections());
  return {
    url: started.url,
    close: async () => {
      await started.close();
      agent.destroy();
      proxy.close();
    },
  };
}
