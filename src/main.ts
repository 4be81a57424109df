import type { Server } from 'node:http';
import type { DestinationStream } from 'pino';
import { createAdminApp, listenAdmin } from './admin/admin-server.js';
import type { Logger } from './observability/logger.js';
import { createLogger } from './observability/logger.js';
import { createRegistry } from './observability/metrics.js';
import type { Registry } from './observability/metrics.js';
import type { IdSource } from './proxy/id-source.js';
import { RandomIdSource } from './proxy/id-source.js';
import { ProxyMetrics } from './proxy/proxy-metrics.js';
import { ProxyServer } from './proxy/proxy-server.js';
import { UpstreamPools } from './proxy/upstream-pools.js';
import { RulesRuntime } from './rules/rules-runtime.js';
import type { Clock, RandomSource } from './util/clock.js';
import { systemClock, systemRandom } from './util/clock.js';

export interface StartOptions {
  readonly rulesFile: string;
  readonly port?: number;
  readonly host?: string;
  /** null disables the admin server */
  readonly adminPort?: number | null;
  readonly adminHost?: string;
  readonly watch?: boolean;
  readonly accessLog?: boolean;
  readonly logger?: Logger;
  readonly logDestination?: DestinationStream;
  readonly clock?: Clock;
  readonly random?: RandomSource;
  readonly ids?: IdSource;
}

export interface FicusHandle {
  readonly port: number;
  readonly adminPort: number | null;
  readonly proxy: ProxyServer;
  readonly rules: RulesRuntime;
  readonly registry: Registry;
  readonly logger: Logger;
  /** graceful: stop accepting, drain in-flight (bounded by the rules' drainTimeout), close pools */
  close(): Promise<void>;
}

/**
 * Composition root of the proxy: load the rules (start-up fails on an invalid file), wire the
 * proxy server, pools, metrics, admin API and file watcher, and start listening.
 */
export async function startFicus(o: StartOptions): Promise<FicusHandle> {
  const logger = o.logger ?? createLogger({ destination: o.logDestination });
  const clock = o.clock ?? systemClock;
  const registry = createRegistry({ defaultMetrics: true });
  const metrics = new ProxyMetrics(registry);
  const pools = new UpstreamPools();
  let proxy: ProxyServer | null = null;

  const rules = new RulesRuntime(o.rulesFile, {
    logger: logger.child({ component: 'rules' }),
    clock,
    pools: pools.provider,
    activate: (table) => {
      proxy?.swap(table);
      pools.retainOnly(table);
      metrics.rulesLoadedAt.set(clock.now() / 1000);
    },
    onReload: (result) => metrics.reloads.labels(result).inc(),
  });
  const table = await rules.load();
  proxy = new ProxyServer(table, {
    logger: logger.child({ component: 'proxy' }),
    metrics,
    clock,
    random: o.random ?? systemRandom,
    ids: o.ids ?? new RandomIdSource(),
    accessLog: o.accessLog ?? true,
  });
  const addr = await proxy.listen(o.port ?? 8080, o.host ?? '127.0.0.1');

  let ready = true;
  let admin: Server | null = null;
  let adminPort: number | null = null;
  if (o.adminPort !== null) {
    const app = createAdminApp({ registry, rules, isReady: () => ready });
    const a = await listenAdmin(app, o.adminPort ?? 9901, o.adminHost ?? o.host ?? '127.0.0.1');
    admin = a.server;
    adminPort = a.port;
  }
  if (o.watch !== false) rules.watch();

  const p = proxy;
  return {
    port: addr.port,
    adminPort,
    proxy: p,
    rules,
    registry,
    logger,
    close: async () => {
      ready = false;
      rules.close();
      await p.shutdown(p.currentTable.settings.drainTimeoutMs);
      await pools.closeAll();
      if (admin !== null) {
        admin.closeAllConnections();
        await new Promise<void>((r) => admin!.close(() => r()));
      }
    },
  };
}
