import { randomUUID } from 'node:crypto';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FicusError } from '../../../src/errors.js';
import { LocalFlagProvider } from '../../../src/flags/local/local-flag-provider.js';
import { clearFlagOverride, listFlagOverrides, overridesHashKey, setFlagOverride } from '../../../src/flags/local/redis-overrides.js';
import { captureLogger, userContext, waitUntil } from '../../helpers/flags-test-helpers.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
const USERS = Array.from({ length: 2000 }, (_, i) => `user-${i}`);

const ORDERS_20 = ['flags:', '  orders-migration:', '    rollout: 20', '    allow: { keys: [alice] }', ''].join('\n');

describe('local flag provider: the flags file', () => {
  let dir: string;
  let file: string;
  let provider: LocalFlagProvider | null = null;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ficus-flags-'));
    file = join(dir, 'flags.yaml');
  });

  afterEach(async () => {
    await provider?.close();
    provider = null;
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses to start on an invalid file, naming every problem with its location', async () => {
    await writeFile(file, 'flags:\n  a: { rollout: 150, on: maybe }\n');
    provider = new LocalFlagProvider({ file, redis: null, logger: captureLogger().logger, watch: false });
    const err = await provider.start().then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(FicusError);
    expect((err as FicusError).code).toBe('FICUS_ERR_CONFIG_INVALID');
    expect((err as FicusError).message).toContain(`${file}:2:17: "flags.a.rollout" must be at most 100, got 150`);
    expect((err as FicusError).message).toContain(`${file}:2:26: "flags.a.on" must be a boolean, got string`);
    expect(provider.ready()).toBe(false);
    expect(provider.evaluate('a', userContext('u'))).toEqual({ value: null, reason: 'provider-not-ready' });
  });

  it('applies an edited file on the next evaluation without a restart, and an atomic rename too', async () => {
    await writeFile(file, ORDERS_20);
    const { logger, lines } = captureLogger();
    provider = new LocalFlagProvider({ file, redis: null, logger, debounceMs: 20 });
    await provider.start();
    const p = provider;
    const inRollout = () => USERS.filter((u) => p.evaluate('orders-migration', userContext(u)).value === 'true');
    const at20 = inRollout();
    expect(at20.length).toBeGreaterThan(300);
    expect(at20.length).toBeLessThan(500);

    // 1. an in-place edit: raise to 50% — the first 20% stay in.
    await writeFile(file, ORDERS_20.replace('rollout: 20', 'rollout: 50'));
    const at50 = await waitUntil(() => { const c = inRollout(); return c.length > 800 ? c : null; }, { what: 'the 50% rollout' });
    expect(at20.every((u) => at50.includes(u))).toBe(true);

    // 2. an editor-style save (write a temp file, rename over): flip the flag off.
    const tmp = join(dir, '.flags.yaml.swp');
    await writeFile(tmp, ORDERS_20.replace('rollout: 20', 'rollout: 50').replace('orders-migration:', 'orders-migration:\n    on: false'));
    await rename(tmp, file);
    await waitUntil(() => p.evaluate('orders-migration', userContext('alice')).value === 'false', { what: 'the flag to turn off' });
    expect(lines.filter((l) => l.message === 'flags file reloaded').length).toBeGreaterThanOrEqual(2);
  });

  it('keeps the last good flags when the file becomes invalid, logging every located problem', async () => {
    await writeFile(file, ORDERS_20);
    const { logger, lines } = captureLogger();
    provider = new LocalFlagProvider({ file, redis: null, logger, debounceMs: 20 });
    await provider.start();
    await writeFile(file, 'flags:\n  orders-migration:\n    rolout: 50\n    on: nope\n');
    const bad = await waitUntil(() => lines.find((l) => l.code === 'FICUS_ERR_CONFIG_INVALID'), { what: 'the invalid-file log line' });
    expect(bad.level).toBe('error');
    expect(bad.problems).toEqual([
      `${file}:3:5: unknown key "rolout" in "flags.orders-migration" (did you mean "rollout"?)`,
      `${file}:4:9: "flags.orders-migration.on" must be a boolean, got string`,
    ]);
    expect(provider.evaluate('orders-migration', userContext('alice'))).toEqual({ value: 'true', reason: 'evaluated' });
    // Fixing the file is picked up again.
    await writeFile(file, ORDERS_20.replace('rollout: 20', 'rollout: 0').replace('allow: { keys: [alice] }', 'deny: { keys: [alice] }'));
    const p = provider;
    await waitUntil(() => p.evaluate('orders-migration', userContext('alice')).value === 'false', { what: 'the fixed file' });
  });
});

describe('local flag provider: shared overrides in Redis', () => {
  let dir: string;
  let file: string;
  let prefix: string;
  let admin: Redis;
  const providers: LocalFlagProvider[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ficus-flags-'));
    file = join(dir, 'flags.yaml');
    await writeFile(file, [
      'flags:',
      '  orders-migration: { rollout: 20 }',
      '  orders-mode: { variations: [legacy, shadow, live, migrated], variation: shadow, fallthrough: legacy }',
      '',
    ].join('\n'));
    prefix = `ficus-test:${randomUUID()}`; // a fresh key space per test
    admin = new Redis(REDIS_URL);
  });

  afterEach(async () => {
    await Promise.all(providers.splice(0).map((p) => p.close()));
    await admin.del(overridesHashKey(prefix));
    admin.disconnect();
    await rm(dir, { recursive: true, force: true });
  });

  async function instance(pollIntervalMs: number, logger = captureLogger().logger): Promise<LocalFlagProvider> {
    const p = new LocalFlagProvider({ file, redis: { url: REDIS_URL, keyPrefix: prefix, pollIntervalMs }, logger, watch: false });
    providers.push(p);
    await p.start();
    return p;
  }

  it('a flip through Redis reaches every instance within 1 s, and clearing restores the file', async () => {
    // Polling is set to a minute, so only the pub/sub notification can deliver the change in time.
    const a = await instance(60_000);
    const b = await instance(60_000);
    expect(a.evaluate('orders-mode', userContext('u1')).value).toBe('shadow');

    const started = Date.now();
    expect(await setFlagOverride(admin, prefix, 'orders-mode', { variation: 'live' })).toEqual({ variation: 'live' });
    await waitUntil(() => a.evaluate('orders-mode', userContext('u1')).value === 'live' && b.evaluate('orders-mode', userContext('u1')).value === 'live', { timeoutMs: 1000, what: 'both instances to see the override' });
    expect(Date.now() - started).toBeLessThan(1000);

    // Patches merge: turning it off keeps the variation override; null removes a field.
    expect(await setFlagOverride(admin, prefix, 'orders-mode', { on: false })).toEqual({ variation: 'live', on: false });
    await waitUntil(() => b.evaluate('orders-mode', userContext('u1')).value === 'legacy', { timeoutMs: 1000, what: 'the off override' });
    expect(await setFlagOverride(admin, prefix, 'orders-mode', { on: null })).toEqual({ variation: 'live' });
    expect((await listFlagOverrides(admin, prefix)).overrides).toEqual(new Map([['orders-mode', { variation: 'live' }]]));

    expect(await clearFlagOverride(admin, prefix, 'orders-mode')).toBe(true);
    await waitUntil(() => a.evaluate('orders-mode', userContext('u1')).value === 'shadow' && b.evaluate('orders-mode', userContext('u1')).value === 'shadow', { timeoutMs: 1000, what: 'the file value again' });
  });

  it('a rollout override raises the slice and keeps the first cohort', async () => {
    const a = await instance(1000);
    const cohort = () => USERS.filter((u) => a.evaluate('orders-migration', userContext(u)).value === 'true');
    const at20 = cohort();
    await setFlagOverride(admin, prefix, 'orders-migration', { rollout: 50 });
    const at50 = await waitUntil(() => { const c = cohort(); return c.length > 800 ? c : null; }, { timeoutMs: 1000, what: 'the 50% override' });
    expect(at20.every((u) => at50.includes(u))).toBe(true);
  });

  it('sees a change written without a notification through the periodic re-read', async () => {
    const a = await instance(100);
    // A writer that bypasses setFlagOverride (no PUBLISH), e.g. redis-cli HSET.
    await admin.hset(overridesHashKey(prefix), 'orders-migration', JSON.stringify({ on: false }));
    await waitUntil(() => a.evaluate('orders-migration', userContext('user-1')).value === 'false', { timeoutMs: 1000, what: 'the polled override' });
  });

  it('ignores a malformed or mismatched override with a warning and keeps serving the file', async () => {
    const { logger, lines } = captureLogger();
    const a = await instance(100, logger);
    await admin.hset(overridesHashKey(prefix), 'orders-mode', JSON.stringify({ variation: 'migrate' }), 'orders-migration', '{not json');
    await waitUntil(() => lines.filter((l) => l.code === 'FICUS_ERR_FLAG_OVERRIDE_INVALID').length >= 2, { timeoutMs: 1000, what: 'the warnings' });
    expect(lines.filter((l) => l.code === 'FICUS_ERR_FLAG_OVERRIDE_INVALID').map((l) => l.message)).toEqual([
      'override for flag "orders-migration" ignored: not JSON: {not json',
      'override for flag "orders-mode" ignored: variation "migrate" is not one of its variations (legacy, shadow, live, migrated)',
    ]);
    expect(a.evaluate('orders-mode', userContext('u1')).value).toBe('shadow');
    await expect(setFlagOverride(admin, prefix, 'orders-mode', { rollout: 101 })).rejects.toMatchObject({ code: 'FICUS_ERR_FLAG_OVERRIDE_INVALID' });
  });

  it('starts with the file alone when Redis is unreachable, with one warning', async () => {
    const port = await closedPort();
    const { logger, lines } = captureLogger();
    const p = new LocalFlagProvider({ file, redis: { url: `redis://127.0.0.1:${port}`, keyPrefix: prefix, pollIntervalMs: 50 }, logger, watch: false });
    providers.push(p);
    await p.start();
    expect(p.ready()).toBe(true);
    expect(p.evaluate('orders-mode', userContext('u1')).value).toBe('shadow');
    await waitUntil(() => lines.some((l) => l.code === 'FICUS_ERR_FLAG_OVERRIDES_UNAVAILABLE'), { what: 'the warning' });
    // Several failed reads later, still a single warning for the outage.
    for (let i = 0; i < 3; i++) await p.refreshOverrides();
    expect(lines.filter((l) => l.code === 'FICUS_ERR_FLAG_OVERRIDES_UNAVAILABLE')).toHaveLength(1);

    // Redis comes back on that address: the instance reconnects, resubscribes and applies overrides.
    const relay = await relayToRedis(port);
    try {
      await setFlagOverride(admin, prefix, 'orders-mode', { variation: 'live' });
      await waitUntil(() => p.evaluate('orders-mode', userContext('u1')).value === 'live', { timeoutMs: 3000, what: 'the override after Redis returned' });
      expect(lines.some((l) => l.message === 'flag overrides: Redis reachable again')).toBe(true);
    } finally {
      await p.close();
      await relay.close();
    }
  });
});

/** A TCP relay to the real Redis on a given port, standing in for a Redis that comes back. */
async function relayToRedis(port: number): Promise<{ close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(6379, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const end = () => { client.destroy(); upstream.destroy(); };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}
