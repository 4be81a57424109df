import express from 'express';
import type { Express, Router } from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { FicusError } from '../errors.js';
import type { RulesRuntime } from '../rules/rules-runtime.js';

export interface AdminDeps {
  readonly registry: Registry;
  readonly rules: RulesRuntime;
  readonly isReady: () => boolean;
  /** extra routers mounted by other modules (shadow report, flags) */
  readonly routers?: readonly Router[];
}

/**
 * The admin API, on its own port and off the hot path: health, readiness, Prometheus metrics, and
 * the rules control plane (current version, history, reload, rollback).
 */
export function createAdminApp(deps: AdminDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    const ready = deps.isReady();
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready' });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(deps.registry.contentType).send(await deps.registry.metrics());
  });
  app.get('/rules', (_req, res) => {
    const cur = deps.rules.history.current;
    res.json({ file: deps.rules.file, version: cur?.version ?? null, loadedAt: cur?.loadedAt ?? null });
  });
  app.get('/rules/versions', (_req, res) => {
    res.json({ versions: deps.rules.history.list().map((v) => ({ version: v.version, hash: v.hash, loadedAt: v.loadedAt })).reverse() });
  });
  app.post('/rules/reload', async (_req, res) => {
    const r = await deps.rules.reload();
    res.status(r.ok ? 200 : 422).json(r);
  });
  app.post('/rules/rollback', async (_req, res) => {
    try {
      const r = await deps.rules.rollback();
      res.status(r.ok ? 200 : 422).json(r);
    } catch (err) {
      if (err instanceof FicusError) res.status(409).json({ ok: false, error: { code: err.code, message: err.message } });
      else throw err;
    }
  });
  for (const r of deps.routers ?? []) app.use(r);
  return app;
}

export function listenAdmin(app: Express, port: number, host: string): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host);
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      resolve({ server, port: (server.address() as AddressInfo).port });
    });
  });
}
