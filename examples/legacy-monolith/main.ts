import { closeOnSignals, readInt, readServiceEnv, waitForDatabase } from '../shared/service-env.js';
import { LEGACY_SERVICE_NAME, startLegacyMonolith } from './app.js';
import { ensureLegacySchema } from './schema.js';
import { seedLegacy } from './seed.js';

/**
 * `node dist/examples/legacy-monolith/main.js` — the docker-compose entry.
 * Env: DATABASE_URL (required), PORT (3000), HOST (0.0.0.0), and optionally SEED_USERS (0),
 * SEED_ORDERS_PER_USER (3), SEED (42) to load deterministic seed data at start (idempotent).
 */
const log = (message: string) => console.log(`[${LEGACY_SERVICE_NAME}] ${message}`);

async function main(): Promise<void> {
  const read = readServiceEnv(process.env, { port: 3000, host: '0.0.0.0' });
  const problems = read.ok ? [] : [...read.problems];
  const seedUsers = readInt(process.env, 'SEED_USERS', 0, 0, 1_000_000, problems);
  const ordersPerUser = readInt(process.env, 'SEED_ORDERS_PER_USER', 3, 0, 1_000, problems);
  const seed = readInt(process.env, 'SEED', 42, 0, 2 ** 32 - 1, problems);
  if (!read.ok || problems.length > 0) {
    for (const p of problems) console.error(`[${LEGACY_SERVICE_NAME}] ${p}`);
    process.exit(2);
  }
  const env = read.value;
  await waitForDatabase(env.databaseUrl, log);
  await ensureLegacySchema(env.databaseUrl);
  if (seedUsers > 0) {
    const r = await seedLegacy(env.databaseUrl, { users: seedUsers, ordersPerUser, seed });
    log(`seed ${seed}: ${r.inserted.users} user(s) and ${r.inserted.orders} order(s) inserted (${r.users.length - r.inserted.users} users already there)`);
  }
  const server = await startLegacyMonolith({ databaseUrl: env.databaseUrl, port: env.port, host: env.host });
  log(`listening on ${env.host}:${server.port} (database ${new URL(env.databaseUrl).pathname.slice(1)})`);
  closeOnSignals(() => server.close(), log);
}

main().catch((err: unknown) => {
  console.error(`[${LEGACY_SERVICE_NAME}] failed to start:`, err);
  process.exit(1);
});
