import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterEach } from 'vitest';
import type { ShadowDispatcher, ShadowExchange, SubmitResult } from '../../src/shadow/shadow-dispatcher.js';
import type { ShadowPolicy } from '../../src/shadow/shadow-policy.js';
import { headerPairs } from '../../src/shadow/raw-headers.js';

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface TestServer {
  readonly origin: string;
  readonly seen: SeenRequest[];
  close(): Promise<void>;
}

type Handler = (req: SeenRequest, res: ServerResponse, raw: IncomingMessage) => void;

/** A real HTTP server on port 0 that records what it received. */
export async function startServer(handler: Handler): Promise<TestServer> {
  const seen: SeenRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      seen.push(r);
      handler(r, res, req);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * For a test file: `cleanup` steps run in reverse after each test, and `server()` starts a
 * TestServer that is closed the same way. Call once at the top of the file.
 */
export function testServers(): { readonly cleanup: (() => Promise<void>)[]; server(handler: Handler): Promise<TestServer> } {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (cleanup.length > 0) await cleanup.pop()!();
  });
  return {
    cleanup,
    async server(handler) {
      const s = await startServer(handler);
      cleanup.push(() => s.close());
      return s;
    },
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export interface ShadowedCall {
  readonly route: string;
  readonly endpoint: string;
  readonly mode?: 'shadow' | 'live';
  readonly policy: ShadowPolicy;
  readonly method?: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly primaryOrigin: string;
  readonly candidateOrigin: string;
  readonly secondaryOrigin?: string | null;
}

/**
 * Plays the forwarder's part: calls the primary, keeps bounded copies of request and response,
 * then submits the exchange. Returns what the client got and what submit said.
 */
export async function callAndShadow(shadow: ShadowDispatcher, c: ShadowedCall): Promise<{ status: number; body: string; submitted: SubmitResult }> {
  const method = c.method ?? 'GET';
  const headers: IncomingHttpHeaders = { host: 'ficus.test', ...(c.headers ?? {}) };
  const res = await request(new URL(c.path, c.primaryOrigin), { method: method as 'GET', headers: c.headers ?? {}, body: c.body ?? null });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  const body = Buffer.concat(chunks);
  const requestBody = c.body === undefined ? null : Buffer.from(c.body);
  const ex: ShadowExchange = {
    route: c.route,
    endpoint: c.endpoint,
    mode: c.mode ?? 'shadow',
    policy: c.policy,
    method,
    path: c.path,
    headers,
    requestBody: requestBody !== null && requestBody.length > c.policy.maxBodyBytes ? 'too-large' : requestBody,
    primary: { status: res.statusCode, rawHeaders: headerPairs(res.headers), body: size > c.policy.maxBodyBytes ? 'too-large' : body },
    candidateOrigin: c.candidateOrigin,
    secondaryOrigin: c.secondaryOrigin ?? null,
    startedAt: Date.now(),
  };
  const submitted = shadow.submit(ex);
  return { status: res.statusCode, body: body.toString('utf8'), submitted };
}
