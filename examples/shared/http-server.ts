import type { Express } from 'express';
import { createServer } from 'node:http';
import type { RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An express app that also owns its Postgres pool; `dispose()` ends the pool. */
export type ExampleApp = Express & { dispose(): Promise<void> };

export interface RunningServer {
  /** Base URL without a trailing slash, e.g. http://127.0.0.1:40123 */
  readonly url: string;
  readonly port: number;
  /** Stops accepting, drops idle keep-alive sockets, waits for in-flight requests, then runs `onClosed`. */
  close(): Promise<void>;
}

/**
 * Listens on `port` (0 = any free port) and returns once bound. `close()` is idempotent: tests and
 * signal handlers may both call it.
 */
export async function listen(handler: RequestListener, options: { port: number; host: string; graceMs?: number; onClosed?: () => Promise<void> }): Promise<RunningServer> {
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const hostForUrl = options.host.includes(':') ? `[${options.host}]` : options.host === '0.0.0.0' ? '127.0.0.1' : options.host;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${hostForUrl}:${port}`,
    port,
    close: () => {
      closing ??= (async () => {
        // 1. stop accepting and let in-flight requests finish; 2. idle keep-alive sockets would hold
        // close() open forever, so drop them; 3. release what the app owns (its pool).
        // A client that keeps reusing its connection is cut off after a grace period.
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const force = setTimeout(() => server.closeAllConnections(), options.graceMs ?? 5_000);
        force.unref();
        await closed;
        clearTimeout(force);
        await options.onClosed?.();
      })();
      return closing;
    },
  };
}
