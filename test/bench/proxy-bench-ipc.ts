import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * How the benchmark runs a Node peer in its own process: the parent forks a compiled entry, the
 * child calls announceReady(url) once listening, the parent loads that URL and later sends SIGTERM.
 * A separate process keeps the peer off the load generator's event loop (autocannon in the parent
 * would otherwise steal the peer's CPU time and make every Node target look slower than nginx).
 */
export interface ForkedPeer {
  readonly url: string;
  readonly pid: number;
  /** The child's answer to a stats request (see answerStats); rejects if it installed none. */
  stats(timeoutMs?: number): Promise<unknown>;
  close(): Promise<void>;
}

interface ReadyMessage {
  ready: true;
  url: string;
}

function isReady(m: unknown): m is ReadyMessage {
  return typeof m === 'object' && m !== null && (m as ReadyMessage).ready === true && typeof (m as ReadyMessage).url === 'string';
}

interface StatsMessage {
  stats: unknown;
}

function isStats(m: unknown): m is StatsMessage {
  return typeof m === 'object' && m !== null && 'stats' in m;
}

/** In the child: answer each stats request from the parent with `collect()`'s value. */
export function answerStats(collect: () => Promise<unknown>): void {
  process.on('message', (m: unknown) => {
    if (typeof m !== 'object' || m === null || (m as { statsRequest?: unknown }).statsRequest !== true) return;
    void collect().then((stats) => process.send?.({ stats } satisfies StatsMessage));
  });
}

export function announceReady(url: string): void {
  if (!process.send) throw new Error('this entry must be started by forkPeer (it needs an IPC channel)');
  process.send({ ready: true, url } satisfies ReadyMessage);
}

/** Forks `entry` (a compiled .js file) with `args`; resolves once it announces its URL. */
export function forkPeer(entry: URL, args: readonly string[], options: { readyTimeoutMs?: number } = {}): Promise<ForkedPeer> {
  const child = fork(fileURLToPath(entry), [...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise<ForkedPeer>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${entry.pathname} did not announce its URL within ${options.readyTimeoutMs ?? 10_000} ms`));
    }, options.readyTimeoutMs ?? 10_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${entry.pathname} ${args.join(' ')} exited before it was ready (code ${code}, signal ${signal})`));
    });
    child.on('message', (m: unknown) => {
      if (!isReady(m)) return;
      clearTimeout(timer);
      resolve({
        url: m.url,
        pid: child.pid ?? -1,
        stats: (timeoutMs = 2_000) =>
          new Promise<unknown>((resolveStats, rejectStats) => {
            const onMessage = (sm: unknown) => {
              if (!isStats(sm)) return;
              clearTimeout(t);
              child.off('message', onMessage);
              resolveStats(sm.stats);
            };
            const t = setTimeout(() => {
              child.off('message', onMessage);
              rejectStats(new Error(`${entry.pathname} did not answer a stats request within ${timeoutMs} ms`));
            }, timeoutMs);
            child.on('message', onMessage);
            child.send({ statsRequest: true });
          }),
        close: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          await exited;
        },
      });
    });
  });
}
