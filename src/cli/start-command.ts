import type { Command } from 'commander';
import { resolve } from 'node:path';
import { FicusError } from '../errors.js';
import { startFicus } from '../main.js';
import type { ShadowThread } from '../main.js';
import { DEFAULT_THREAD_PRIORITY, describeThreadPriority, parseThreadPriority } from '../shadow/worker/thread-priority.js';
import type { ThreadPriority } from '../shadow/worker/thread-priority.js';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`invalid port "${value}": expected 0-65535`);
  return n;
}

function shadowThread(value: string): ShadowThread {
  if (value !== 'worker' && value !== 'main') throw new Error(`invalid --shadow-thread "${value}": expected worker or main`);
  return value;
}

function priority(value: string): ThreadPriority {
  const p = parseThreadPriority(value);
  if (p === null) throw new Error(`invalid --shadow-priority "${value}": expected idle or a nice value from 0 to 19`);
  return p;
}

function ringMib(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 1024) throw new Error(`invalid --shadow-ring-mib "${value}": expected a whole number of MiB from 1 to 1024`);
  return n;
}

/** `ficus start --rules FILE`: serve until SIGTERM/SIGINT, then drain and exit 0. */
export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('start the proxy')
    .requiredOption('-r, --rules <file>', 'rules file (YAML)')
    .option('-p, --port <port>', 'proxy port', port, 8080)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--admin-port <port>', 'admin API port (health, metrics, rules)', port, 9901)
    .option('--no-watch', 'do not reload the rules file when it changes')
    .option('--no-access-log', 'do not log one line per request')
    .option('--shadow-thread <where>', 'where shadow copies are sent and compared: worker (a low-priority thread) or main', shadowThread, 'worker')
    .option('--shadow-priority <p>', 'priority of the shadow worker thread: idle (SCHED_IDLE) or a nice value 0-19', priority, DEFAULT_THREAD_PRIORITY)
    .option('--shadow-ring-mib <n>', 'MiB of shared memory for copies waiting for the shadow worker, 1-1024; an exchange larger than this is dropped', ringMib, 16)
    .action(async (opts: { rules: string; port: number; host: string; adminPort: number; watch: boolean; accessLog: boolean; shadowThread: ShadowThread; shadowPriority: ThreadPriority; shadowRingMib: number }) => {
      const rulesFile = resolve(opts.rules);
      let handle;
      try {
        handle = await startFicus({
          rulesFile,
          port: opts.port,
          host: opts.host,
          adminPort: opts.adminPort,
          watch: opts.watch,
          accessLog: opts.accessLog,
          shadowThread: opts.shadowThread,
          shadowPriority: opts.shadowPriority,
          shadowRingBytes: opts.shadowRingMib * 1024 * 1024,
        });
      } catch (err) {
        if (err instanceof FicusError) {
          process.stderr.write(`ficus: ${err.message}\n`);
          process.exitCode = 1;
          return;
        }
        throw err;
      }
      const table = handle.proxy.currentTable;
      const lines = [
        `ficus ${table.version} serving`,
        `  rules:    ${rulesFile}${opts.watch ? ' (watching for changes)' : ''}`,
        `  proxy:    http://${opts.host}:${handle.port}`,
        `  admin:    http://${opts.host}:${handle.adminPort} (/healthz /readyz /metrics /rules)`,
        `  routes:   ${table.routes.length}${table.fallbackRoute ? `, default -> ${table.fallbackRoute.decision.kind === 'single' ? table.fallbackRoute.decision.target.upstream.name : ''}` : ''}`,
        `  flags:    ${handle.flags ? handle.flags.description : 'none'}`,
        `  shadow:   ${opts.shadowThread === 'worker' ? `worker thread, ${describeThreadPriority(opts.shadowPriority)}, ring ${opts.shadowRingMib} MiB` : 'main thread'}`,
        '  upstreams:',
        ...[...table.upstreams.values()].map((u) => `    ${u.name.padEnd(12)} ${u.origin}  (pool ${u.poolSize}, headers timeout ${u.headersTimeoutMs} ms)`),
      ];
      process.stdout.write(lines.join('\n') + '\n');
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        handle.logger.info({ signal }, 'shutting down: draining in-flight requests');
        void handle.close().then(() => {
          handle.logger.info('stopped');
          handle.logger.flush?.();
          process.exit(0);
        });
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });
}
