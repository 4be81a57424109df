import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestData } from '@launchdarkly/node-server-sdk/integrations';
import { Redis } from 'ioredis';
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setFlagOverride } from '../../../src/flags/local/redis-overrides.js';
import type { TestServer } from '../../helpers/http-servers.js';
import { startServer, until } from '../../helpers/http-servers.js';
import type { TestFicus } from '../../helpers/ficus-instance.js';
import { startTestFicus } from '../../helpers/ficus-instance.js';

let legacy: TestServer;
let orders: TestServer;
const agent = new Agent({ connections: 64 });
const cleanup: (() => Promise<unknown> | void)[] = [];

beforeAll(async () => {
  legacy = await startServer((_q, s) => s.end('legacy'));
  orders = await startServer((_q, s) => s.end('orders'));
});
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});
afterAll(async () => {
  await agent.close();
  await Promise.all([legacy.close(), orders.close()]);
});

function flagsFile(rollout: number, on = true): string {
  return `flags:\n  orders-migration:\n    on: ${on}\n    rollout: ${rollout}\n`;
}

function rules(flagsSection: string, flagKey = 'orders-migration', contextKey = 'header:x-user-id'): string {
  return `
version: 1
upstreams:
  legacy: { url: ${legacy.url} }
  orders: { url: ${orders.url} }
${flagsSection}
routes:
  - name: orders
    match: { path: /api/orders/** }
    flag:
      key: ${flagKey}
      context: { kind: user, key: ${contextKey}, attributes: { tenant: header:x-tenant } }
      variations: { "true": orders, "false": legacy }
      default: legacy
default: legacy
`;
}

async function start(rulesText: string, options = {}): Promise<TestFicus> {
  const f = await startTestFicus(rulesText, { accessLog: false, ...options });
  cleanup.push(() => f.close());
  return f;
}

async function whereIs(f: TestFicus, user: string | null): Promise<string> {
  const r = await request(`${f.url}/api/orders/1`, { dispatcher: agent, headers: user === null ? {} : { 'x-user-id': user } });
  return r.body.text();
}

async function routeUsers(f: TestFicus, n: number): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < n; i += 250) {
    const ids = Array.from({ length: Math.min(250, n - i) }, (_, j) => `user-${i + j}`);
    const got = await Promise.all(ids.map((id) => whereIs(f, id)));
    ids.forEach((id, j) => out.set(id, got[j]));
  }
  return out;
}

function localFlags(rollout: number): { dir: string; file: string; section: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ficus-flags-'));
  const file = join(dir, 'flags.yaml');
  writeFileSync(file, flagsFile(rollout));
  return { dir, file, section: `flags: { provider: local, file: ${file} }` };
}

describe('flag-routed routes, local provider', () => {
  it('sends 20% ± 2% of 10k users to the new service, each consistently, and raising to 50% keeps them', { timeout: 60_000 }, async () => {
    const flags = localFlags(20);
    const f = await start(rules(flags.section));
    const first = await routeUsers(f, 10_000);
    const inNew = [...first.values()].filter((v) => v === 'orders').length;
    expect(Math.abs(inNew / 10_000 - 0.2)).toBeLessThanOrEqual(0.02);
    const sample = [...first.entries()].slice(0, 200);
    for (const [id, where] of sample) expect(await whereIs(f, id)).toBe(where);

    // a file edit flips routing on the next request, without a restart
    writeFileSync(flags.file, flagsFile(50));
    await until(async () => (await routeUsers(f, 400)).size === 400 && [...(await routeUsers(f, 2000)).values()].filter((v) => v === 'orders').length > 800, 5000, 'rollout 50');
    const second = await routeUsers(f, 10_000);
    const kept = [...first.entries()].filter(([, v]) => v === 'orders').every(([id]) => second.get(id) === 'orders');
    expect(kept).toBe(true);
    expect(Math.abs([...second.values()].filter((v) => v === 'orders').length / 10_000 - 0.5)).toBeLessThanOrEqual(0.02);
  });

  it('serves the default, with a log line and a metric, for an unknown flag and a missing context key', async () => {
    const flags = localFlags(100);
    const f = await start(rules(flags.section, 'no-such-flag'));
    expect(await whereIs(f, 'user-1')).toBe('legacy');
    const known = await start(rules(flags.section));
    expect(await whereIs(known, 'user-1')).toBe('orders');
    expect(await whereIs(known, null)).toBe('legacy'); // no x-user-id: no context key
    const metrics = async (t: TestFicus) => (await request(`${t.adminUrl}/metrics`)).body.text();
    expect(await metrics(f)).toMatch(/ficus_flag_evaluations_total\{flag="no-such-flag",result="default-flag-unknown"\} 1/);
    expect(await metrics(known)).toMatch(/ficus_flag_evaluations_total\{flag="orders-migration",result="default-context-key-missing"\} 1/);
    expect(f.logs.some((l) => l.level === 'warn' && JSON.stringify(l).includes('flag-unknown'))).toBe(true);
    expect(known.logs.some((l) => l.level === 'warn' && JSON.stringify(l).includes('context-key-missing'))).toBe(true);
  });

  it('applies a Redis override on the next request, without a restart', async () => {
    const flags = localFlags(0);
    const prefix = `ficus-test-${process.pid}-${Date.now()}`;
    const f = await start(rules(`flags: { provider: local, file: ${flags.file}, redis: { url: "redis://127.0.0.1:6379", keyPrefix: ${prefix} } }`));
    const redis = new Redis('redis://127.0.0.1:6379');
    cleanup.push(async () => {
      await redis.del(`${prefix}:overrides`);
      redis.disconnect();
    });
    expect(await whereIs(f, 'user-7')).toBe('legacy');
    await setFlagOverride(redis, prefix, 'orders-migration', { rollout: 100 });
    await until(async () => (await whereIs(f, 'user-7')) === 'orders', 1500, 'override within 1 s');
  });

  it('refuses a reload that changes the flags section, keeping the running rules', async () => {
    const flags = localFlags(0);
    const f = await start(rules(flags.section));
    f.writeRules(rules(`flags: { provider: launchdarkly, launchdarkly: { file: ${flags.file} } }`));
    await until(() => f.logs.some((l) => String(l.problem ?? '').includes('restart ficus to switch flag providers')), 5000, 'veto');
    expect(await whereIs(f, 'user-1')).toBe('legacy');
  });
});

describe('flag-routed routes, LaunchDarkly provider', () => {
  it('routes by TestData and follows an update on the next request', async () => {
    const td = new TestData();
    await td.update(td.flag('orders-migration').booleanFlag().variationForContext('user', 'alice', true).fallthroughVariation(false));
    const f = await start(rules('flags: { provider: launchdarkly }'), { flagDeps: { ldUpdateProcessor: td.getFactory() } });
    expect(await whereIs(f, 'alice')).toBe('orders');
    expect(await whereIs(f, 'bob')).toBe('legacy');
    await td.update(td.flag('orders-migration').booleanFlag().fallthroughVariation(true));
    expect(await whereIs(f, 'bob')).toBe('orders');
  });

  it('starts anyway when LaunchDarkly is unreachable and serves the default', async () => {
    const closed = await startServer(() => {});
    const port = closed.port;
    await closed.close();
    const f = await start(
      rules(`flags:
  provider: launchdarkly
  launchdarkly: { sdkKeyEnv: FICUS_TEST_LD_KEY, initTimeout: 300ms, streamUri: "http://127.0.0.1:${port}", baseUri: "http://127.0.0.1:${port}", eventsUri: "http://127.0.0.1:${port}", sendEvents: false }`),
      { flagDeps: { env: { FICUS_TEST_LD_KEY: 'sdk-test' } } },
    );
    expect(await whereIs(f, 'alice')).toBe('legacy');
    const metrics = await (await request(`${f.adminUrl}/metrics`)).body.text();
    expect(metrics).toMatch(/ficus_flag_evaluations_total\{flag="orders-migration",result="default-provider-not-ready"\} 1/);
  });
});
