import pg from 'pg';
import { retry } from '../../src/util/retry.js';

/**
 * Environment of the runnable entries (`main.ts`), read into a value with every problem listed, so
 * a docker-compose file with a bad PORT and no DATABASE_URL hears about both at once.
 */
export interface ServiceEnv {
  readonly databaseUrl: string;
  readonly port: number;
  readonly host: string;
}

export type EnvResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problems: readonly string[] };

export function readServiceEnv(env: NodeJS.ProcessEnv, defaults: { port: number; host: string }): EnvResult<ServiceEnv> {
  const problems: string[] = [];
  const databaseUrl = env.DATABASE_URL?.trim() ?? '';
  if (databaseUrl === '') problems.push('DATABASE_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/legacy)');
  else if (!/^postgres(ql)?:\/\//.test(databaseUrl)) problems.push(`DATABASE_URL must start with postgres:// or postgresql://, got ${JSON.stringify(databaseUrl)}`);
  const port = readInt(env, 'PORT', defaults.port, 0, 65535, problems);
  const host = env.HOST?.trim() || defaults.host;
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: { databaseUrl, port, host } };
}

export function readInt(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number, problems: string[]): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    problems.push(`${name} must be a whole number between ${min} and ${max}, got ${JSON.stringify(raw)}`);
    return fallback;
  }
  return Number(raw);
}

/** Errors that mean "the database is not up yet" when containers start together. */
function isStartupError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  // ECONNREFUSED/ENOTFOUND/EAI_AGAIN: server or its DNS name not there yet;
  // 57P03 cannot_connect_now: Postgres is starting up; 3D000: the init script has not created the database yet.
  return ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', '57P03', '3D000'].includes(String(code));
}

/** Waits (with the project's one retrier) until a connection to `databaseUrl` succeeds. */
export async function waitForDatabase(databaseUrl: string, log: (message: string) => void): Promise<void> {
  await retry(
    async () => {
      const client = new pg.Client({ connectionString: databaseUrl });
      try {
        await client.connect();
        await client.query('SELECT 1');
      } finally {
        await client.end().catch(() => {});
      }
    },
    { retries: 12, initialMs: 250, maxMs: 5_000, factor: 2 },
    { isRetriable: isStartupError, onRetry: (err, attempt, delay) => log(`database not ready (${(err as Error).message}); retry ${attempt} in ${delay} ms`) },
  );
}

/** Closes `close` once on SIGINT/SIGTERM, then exits. */
export function closeOnSignals(close: () => Promise<void>, log: (message: string) => void): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal} received, draining`);
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        log(`shutdown failed: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}
