import express from 'express';
import type { Express } from 'express';
import type pg from 'pg';
import { listen } from '../shared/http-server.js';
import type { ExampleApp, RunningServer } from '../shared/http-server.js';
import { healthRoute } from '../shared/health-route.js';
import type { EnvelopeDeps } from '../shared/json-envelope.js';
import { defaultEnvelopeDeps, errorHandler, notFoundRoute, requestContext } from '../shared/json-envelope.js';
import { createPgPool } from '../shared/pg-pool.js';
import { serviceUsersRouter } from './users-routes.js';

/**
 * The users service extracted from the monolith. It reads only its own database (filled by ficus
 * CDC from the monolith's `users`) and answers the monolith's user read API with the same envelope.
 */
export interface UsersServiceOptions {
  readonly databaseUrl: string;
  readonly envelope?: EnvelopeDeps;
  readonly onError?: (err: unknown, requestId: string) => void;
}

export const USERS_SERVICE_NAME = 'users-service';

export function createUsersService(options: UsersServiceOptions): ExampleApp {
  const pool = createPgPool(options.databaseUrl);
  return Object.assign(buildApp(pool, options), { dispose: () => pool.end() });
}

function buildApp(pool: pg.Pool, options: UsersServiceOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Same order as the monolith: envelope, body parsing, routes, 404, errors.
  app.use(requestContext(options.envelope ?? defaultEnvelopeDeps));
  app.use(express.json({ limit: '100kb' }));
  app.get('/healthz', healthRoute(pool, USERS_SERVICE_NAME));
  app.use('/api/users', serviceUsersRouter(pool));
  app.use(notFoundRoute);
  app.use(errorHandler(options.onError));
  return app;
}

export interface UsersServiceStartOptions extends UsersServiceOptions {
  readonly port?: number;
  readonly host?: string;
}

export async function startUsersService(options: UsersServiceStartOptions): Promise<RunningServer> {
  const app = createUsersService(options);
  try {
    return await listen(app, { port: options.port ?? 0, host: options.host ?? '127.0.0.1', onClosed: () => app.dispose() });
  } catch (err) {
    await app.dispose();
    throw err;
  }
}
