import { closeOnSignals, readServiceEnv, waitForDatabase } from '../shared/service-env.js';
import { startUsersService, USERS_SERVICE_NAME } from './app.js';
import { ensureUsersServiceSchema } from './schema.js';

/**
 * `node dist/examples/users-service/main.js` — the docker-compose entry.
 * Env: DATABASE_URL (required; the service's own database), PORT (3001), HOST (0.0.0.0).
 */
const log = (message: string) => console.log(`[${USERS_SERVICE_NAME}] ${message}`);

async function main(): Promise<void> {
  const read = readServiceEnv(process.env, { port: 3001, host: '0.0.0.0' });
  if (!read.ok) {
    for (const p of read.problems) console.error(`[${USERS_SERVICE_NAME}] ${p}`);
    process.exit(2);
  }
  const env = read.value;
  await waitForDatabase(env.databaseUrl, log);
  await ensureUsersServiceSchema(env.databaseUrl);
  const server = await startUsersService({ databaseUrl: env.databaseUrl, port: env.port, host: env.host });
  log(`listening on ${env.host}:${server.port} (database ${new URL(env.databaseUrl).pathname.slice(1)})`);
  closeOnSignals(() => server.close(), log);
}

main().catch((err: unknown) => {
  console.error(`[${USERS_SERVICE_NAME}] failed to start:`, err);
  process.exit(1);
});
