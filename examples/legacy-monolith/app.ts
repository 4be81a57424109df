import express from 'express';
import type { Express } from 'express';
import type pg from 'pg';
import { listen } from '../shared/http-server.js';
import type { ExampleApp, RunningServer } from '../shared/http-server.js';
import { healthRoute } from '../shared/health-route.js';
import type { EnvelopeDeps } from '../shared/json-envelope.js';
import { defaultEnvelopeDeps, errorHandler, notFoundRoute, requestContext } from '../shared/json-envelope.js';
import { createPgPool } from '../shared/pg-pool.js';
import { legacyOrdersRouter } from './orders-routes.js';
import { legacyReportsRouter } from './reports-routes.js';
import { legacyUsersRouter } from './users-routes.js';

/**
 * The legacy monolith: one express 5 app over one Postgres database (users + orders). It plays the
 * system ficus migrates away from, so it is deliberately ordinary.
 */
export interface LegacyMonolithOptions {
  readonly databaseUrl: string;
  /** Clock and id generator behind `server_time` and `request_id` (defaults: wall clock, random UUIDs). */
  readonly envelope?: EnvelopeDeps;
  /** Called for every unexpected (500) error; defaults to console.error. */
  readonly onError?: (err: unknown, requestId: string) => void;
}

export const LEGACY_SERVICE_NAME = 'legacy-monolith';

export function createLegacyMonolith(options: LegacyMonolithOptions): ExampleApp {
  const pool = createPgPool(options.databaseUrl);
  return Object.assign(buildApp(pool, options), { dispose: () => pool.end() });
}

function buildApp(pool: pg.Pool, options: LegacyMonolithOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  // Bodies already differ on every call (request_id, server_time); an ETag would only add noise.
  app.set('etag', false);
  // 1. request id and clock for the envelope; 2. JSON bodies; 3. routes; 4. 404; 5. errors.
  app.use(requestContext(options.envelope ?? defaultEnvelopeDeps));
  app.use(express.json({ limit: '100kb' }));
  app.get('/healthz', healthRoute(pool, LEGACY_SERVICE_NAME));
  app.use('/api/users', legacyUsersRouter(pool));
  app.use('/api/orders', legacyOrdersRouter(pool));
  app.use(legacyReportsRouter(pool));
  app.use(notFoundRoute);
  app.use(errorHandler(options.onError));
  return app;
}

export interface StartOptions extends LegacyMonolithOptions {
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  /** Defaults to 127.0.0.1; the docker entry binds 0.0.0.0. */
  readonly host?: string;
}

/** Starts the monolith on `host:port`; `close()` drains the server, then ends the pool. */
export async function startLegacyMonolith(options: StartOptions): Promise<RunningServer> {
  const app = createLegacyMonolith(options);
  try {
    return await listen(app, { port: options.port ?? 0, host: options.host ?? '127.0.0.1', onClosed: () => app.dispose() });
  } catch (err) {
    await app.dispose();
    throw err;
  }
}
