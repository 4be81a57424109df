import type { Server } from 'node:http';
import type { DestinationStream } from 'pino';
import { createAdminApp, listenAdmin } from './admin/admin-server.js';
import type { Logger } from './observability/logger.js';
import { createLogger } from './observability/logger.js';
import { createRegistry } from './observability/metrics.js';
import type { Registry } from './observability/metrics.js';
import type { RuleSetConfig } from './rules/rules-config.js';
import type { IdSource } from './proxy/id-source.js';
import { RandomIdSource } from './proxy/id-source.js';
import { ProxyMetrics } from './proxy/proxy-metrics.js';
import { ProxyServer } from './proxy/proxy-server.js';
import { UpstreamPools } from './proxy/upstream-pools.js';
import { RulesRuntime } from './rules/rules-runtime.js';
import type { FlagRuntime } from './flags/create-flag-provider.js';
import { createFlagProvider } from './flags/create-flag-provider.js';
import type { FlagDeps } from './flags/create-flag-provider.js';
import { compileFlagsSection } from './flags/flags-config.js';
import type { ShadowRecorder } from './shadow/record/shadow-record.js';
import { MemoryRecorder } from './shadow/record/memory-recorder.js';
import { ShadowDispatcher } from './shadow/shadow-dispatcher.js';
import type { ShadowEngine } from './shadow/shadow-dispatcher.js';
import { ShadowWorkerHost } from './shadow/worker/shadow-worker-host.js';
import { DEFAULT_THREAD_PRIORITY } from './shadow/worker/thread-priority.js';
import type { ThreadPriority } from './shadow/worker/thread-priority.js';
import { createShadowMetrics } from './shadow/shadow-metrics.js';
import { shadowReportRouter } from './shadow/report/report-router.js';
import type { LoadProbe } from './shadow/load-probe.js';
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
  /** where relative paths in the rules' `flags:` section resolve (default: the working directory) */
  readonly baseDir?: string;
  /** LaunchDarkly test data source and similar provider options, for tests */
  readonly flagDeps?: Partial<FlagDeps>;
  /** where shadow comparisons are recorded (default: in memory) */
  readonly shadowRecorder?: ShadowRecorder;
  /** event-loop load probe for shadow load shedding (tests pass a fixed one) */
  readonly shadowLoadProbe?: LoadProbe;
  /**
   * Where shadow copies are sent and compared: `worker` (a worker thread at a low priority, see
   * ShadowWorkerHost) or `main` (the thread serving clients). Default `worker`, except when a
   * clock or random source is injected: functions cannot cross to a worker, so `main` honours them.
   */
  readonly shadowThread?: ShadowThread;
  /** How far the shadow worker thread yields to the main thread: `idle` (SCHED_IDLE, the default) or a nice value 0-19. */
  readonly shadowPriority?: ThreadPriority;
  /** Bytes of shared memory for copies waiting for the shadow worker (default 16 MiB). */
  readonly shadowRingBytes?: number;
}

export type ShadowThread = 'worker' | 'main';

export interface FicusHandle {
  readonly port: number;
  readonly adminPort: number | null;
  readonly proxy: ProxyServer;
  readonly rules: RulesRuntime;
  readonly registry: Registry;
  readonly logger: Logger;
  readonly flags: FlagRuntime | null;
  readonly shadow: ShadowEngine;
  readonly shadowRecorder: ShadowRecorder;
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
  const baseDir = o.baseDir ?? process.cwd();
  const flagsKey = (c: RuleSetConfig) => (c.flags ? JSON.stringify(compileFlagsSection(c.flags, baseDir)) : 'none');
  let activeFlagsKey: string | null = null;

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
    // The flag provider is built once at start: a changed `flags:` section needs a restart.
    veto: (config) =>
      activeFlagsKey !== null && flagsKey(config) !== activeFlagsKey
        ? { path: ['flags'], message: 'the "flags:" section changed; restart ficus to switch flag providers (the previous rules keep serving)' }
        : null,
  });
  const table = await rules.load();
  const config = rules.config!;
  activeFlagsKey = flagsKey(config);
  let flags: FlagRuntime | null = null;
  if (config.flags) {
    flags = createFlagProvider(compileFlagsSection(config.flags, baseDir), { logger, registry, clock, random: o.random, ...o.flagDeps });
    await flags.start();
    logger.info({ flags: flags.description }, 'flag provider started');
  }
  const shadowRecorder = o.shadowRecorder ?? new MemoryRecorder();
  const shadowThread = o.shadowThread ?? (o.clock !== undefined || o.random !== undefined ? 'main' : 'worker');
  const shadowDeps = {
    recorder: shadowRecorder,
    metrics: createShadowMetrics(registry),
    clock,
    logger: logger.child({ component: 'shadow' }),
    ...(o.shadowLoadProbe ? { loadProbe: o.shadowLoadProbe } : {}),
  };
  const shadow: ShadowEngine =
    shadowThread === 'worker' ? new ShadowWorkerHost({ ...shadowDeps, priority: o.shadowPriority ?? DEFAULT_THREAD_PRIORITY, ...(o.shadowRingBytes !== undefined ? { ringBytes: o.shadowRingBytes } : {}) }) : new ShadowDispatcher({ ...shadowDeps, random: o.random });
  proxy = new ProxyServer(table, {
    logger: logger.child({ component: 'proxy' }),
    metrics,
    clock,
    random: o.random ?? systemRandom,
    ids: o.ids ?? new RandomIdSource(),
    accessLog: o.accessLog ?? true,
    flags: flags?.decider ?? null,
    shadow,
  });
  const addr = await proxy.listen(o.port ?? 8080, o.host ?? '127.0.0.1');

  let ready = true;
  let admin: Server | null = null;
  let adminPort: number | null = null;
  if (o.adminPort !== null) {
    const app = createAdminApp({ registry, rules, isReady: () => ready, routers: [shadowReportRouter({ recorder: shadowRecorder })] });
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
    flags,
    shadow,
    shadowRecorder,
    close: async () => {
      ready = false;
      rules.close();
      await p.shutdown(p.currentTable.settings.drainTimeoutMs);
      await shadow.close();
      await flags?.close();
      await pools.closeAll();
      if (admin !== null) {
        admin.closeAllConnections();
        await new Promise<void>((r) => admin!.close(() => r()));
      }
    },
  };
}
