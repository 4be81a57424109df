import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestData } from '@launchdarkly/node-server-sdk/integrations';
import { afterEach, describe, expect, it } from 'vitest';
import { createFlagProvider } from '../../../src/flags/create-flag-provider.js';
import type { FlagRuntime } from '../../../src/flags/create-flag-provider.js';
import { compileRouteFlag } from '../../../src/flags/flag-decider.js';
import { isPromise } from '../../../src/flags/flag-provider.js';
import { compileFlagsSection } from '../../../src/flags/flags-config.js';
import { LaunchDarklyFlagProvider } from '../../../src/flags/launchdarkly/launchdarkly-flag-provider.js';
import { createRegistry } from '../../../src/observability/metrics.js';
import { captureLogger, counterValue, userContext, waitUntil } from '../../helpers/flags-test-helpers.js';

const ROUTE = compileRouteFlag('orders', {
  key: 'orders-migration',
  context: { kind: 'user', key: 'header:x-user-id', attributes: { tenant: 'header:x-tenant' } },
  variations: { true: 'orders', false: 'legacy' },
  default: 'legacy',
});

describe('LaunchDarkly provider', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  function ld(settings: Parameters<typeof compileFlagsSection>[0], deps: Partial<Parameters<typeof createFlagProvider>[1]> = {}) {
    const capture = captureLogger();
    const registry = createRegistry();
    const runtime: FlagRuntime = createFlagProvider(compileFlagsSection(settings, process.cwd()), { logger: capture.logger, registry, ...deps });
    cleanups.push(() => runtime.close());
    return { runtime, registry, lines: capture.lines };
  }

  it('evaluates TestData flags against contexts built from the request, and applies updates on the next evaluation', async () => {
    const td = new TestData();
    await td.update(td.flag('orders-migration').booleanFlag().variationForContext('user', 'alice', true).ifMatch('user', 'tenant', 'acme').thenReturn(true).fallthroughVariation(false));
    const { runtime, registry } = ld({ provider: 'launchdarkly' }, { ldUpdateProcessor: td.getFactory() });
    await runtime.start();
    expect(runtime.provider.ready()).toBe(true);

    const first = runtime.decider.decide(ROUTE, userContext('alice'));
    expect(isPromise(first)).toBe(true);
    expect(await first).toEqual({ choice: 'orders', variation: 'true', result: 'evaluated' });
    expect(await runtime.decider.decide(ROUTE, userContext('bob', { tenant: 'acme' }))).toMatchObject({ choice: 'orders' });
    expect(await runtime.decider.decide(ROUTE, userContext('bob', { tenant: 'initech' }))).toMatchObject({ choice: 'legacy', result: 'evaluated' });
    expect(await runtime.decider.decide(ROUTE, userContext('bob', { tenant: null }))).toMatchObject({ choice: 'legacy', result: 'evaluated' });

    // A flip (as a streamed change from LaunchDarkly would be) takes effect on the next evaluation.
    await td.update(td.flag('orders-migration').booleanFlag().variationForAll(true));
    expect(await runtime.decider.decide(ROUTE, userContext('bob'))).toMatchObject({ choice: 'orders' });
    await td.update(td.flag('orders-migration').booleanFlag().on(false));
    expect(await runtime.decider.decide(ROUTE, userContext('alice'))).toMatchObject({ choice: 'legacy', variation: 'false' });
    expect(await counterValue(registry, 'ficus_flag_evaluations_total', { flag: 'orders-migration', result: 'evaluated' })).toBe(6);
  });

  it('serves migration modes as variations, walking a route through its stages with one flag', async () => {
    const td = new TestData();
    const modes = () => td.flag('orders-mode').variations('legacy', 'shadow', 'live', 'migrated');
    await td.update(modes().fallthroughVariation(1));
    const { runtime } = ld({ provider: 'launchdarkly' }, { ldUpdateProcessor: td.getFactory() });
    await runtime.start();
    const route = compileRouteFlag('orders', { ...ROUTE_CONFIG, key: 'orders-mode', variations: { legacy: 'legacy', shadow: 'shadow', live: 'live', migrated: 'migrated' } });
    expect(await runtime.decider.decide(route, userContext('u1'))).toMatchObject({ choice: 'shadow' });
    await td.update(modes().fallthroughVariation(2));
    expect(await runtime.decider.decide(route, userContext('u1'))).toMatchObject({ choice: 'live' });
    await td.update(modes().fallthroughVariation(3));
    expect(await runtime.decider.decide(route, userContext('u1'))).toMatchObject({ choice: 'migrated' });
  });

  it('falls back to the default for an unknown flag and a missing context key, logging and counting, never throwing', async () => {
    const td = new TestData();
    const { runtime, registry, lines } = ld({ provider: 'launchdarkly' }, { ldUpdateProcessor: td.getFactory() });
    await runtime.start();
    expect(await runtime.decider.decide(ROUTE, userContext('alice'))).toMatchObject({ choice: 'legacy', result: 'default-flag-unknown' });
    const missing = runtime.decider.decide(ROUTE, userContext(null));
    expect(isPromise(missing)).toBe(false); // answered without asking the SDK
    expect(missing).toMatchObject({ choice: 'legacy', result: 'default-context-key-missing' });
    expect(await counterValue(registry, 'ficus_flag_evaluations_total', { flag: 'orders-migration', result: 'default-flag-unknown' })).toBe(1);
    expect(await counterValue(registry, 'ficus_flag_evaluations_total', { flag: 'orders-migration', result: 'default-context-key-missing' })).toBe(1);
    expect(lines.filter((l) => l.code === 'FICUS_ERR_FLAG_UNAVAILABLE').map((l) => l.result)).toEqual(['default-flag-unknown', 'default-context-key-missing']);
  });

  it('reads offline flags from a real JSON file through the SDK file data source and picks up edits', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ficus-ld-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'ld-flags.json');
    const fullFlag = (on: boolean) => ({
      key: 'orders-mode', on, version: 1, variations: ['legacy', 'shadow', 'live'], offVariation: 0,
      fallthrough: { variation: 1 }, targets: [{ values: ['vip'], variation: 2 }], salt: 'x',
    });
    await writeFile(file, JSON.stringify({ flagValues: { 'orders-migration': true }, flags: { 'orders-mode': fullFlag(true) } }));
    const { runtime } = ld({ provider: 'launchdarkly', launchdarkly: { file, sdkKeyEnv: 'FICUS_TEST_UNSET_LD_KEY' } }, { env: {} });
    await runtime.start();
    expect(runtime.description).toContain(`offline file ${file}`);
    expect(await runtime.provider.evaluate('orders-migration', userContext('u1'))).toEqual({ value: 'true', reason: 'evaluated' });
    expect(await runtime.provider.evaluate('orders-mode', userContext('u1'))).toEqual({ value: 'shadow', reason: 'evaluated' });
    expect(await runtime.provider.evaluate('orders-mode', userContext('vip'))).toEqual({ value: 'live', reason: 'evaluated' });

    await writeFile(file, JSON.stringify({ flagValues: { 'orders-migration': false }, flags: { 'orders-mode': fullFlag(false) } }));
    await waitUntil(async () => (await runtime.provider.evaluate('orders-migration', userContext('u1'))).value === 'false', { what: 'the file edit' });
    expect(await runtime.provider.evaluate('orders-mode', userContext('vip'))).toEqual({ value: 'legacy', reason: 'evaluated' });
  });

  it('serves the example offline file rules/ld-flags.json', async () => {
    const file = new URL('../../../rules/ld-flags.json', import.meta.url).pathname;
    const { runtime } = ld({ provider: 'launchdarkly', launchdarkly: { file } }, { env: {} });
    await runtime.start();
    expect(await runtime.provider.evaluate('orders-migration', userContext('u1'))).toEqual({ value: 'true', reason: 'evaluated' });
    expect(await runtime.provider.evaluate('payments-mode', userContext('qa-alice'))).toEqual({ value: 'live', reason: 'evaluated' });
    expect(await runtime.provider.evaluate('payments-mode', userContext('u1'))).toEqual({ value: 'shadow', reason: 'evaluated' });
  });

  it('starts anyway when LaunchDarkly is unreachable: warns, serves route defaults and counts them', async () => {
    const port = await closedPort();
    const uri = `http://127.0.0.1:${port}`;
    const { runtime, registry, lines } = ld(
      { provider: 'launchdarkly', launchdarkly: { sdkKeyEnv: 'LD_SDK_KEY', initTimeout: '300ms', baseUri: uri, streamUri: uri, eventsUri: uri, sendEvents: false } },
      { env: { LD_SDK_KEY: 'sdk-test-key' } },
    );
    const started = Date.now();
    await runtime.start(); // resolves; does not throw
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(runtime.provider.ready()).toBe(false);
    expect(lines.some((l) => String(l.message).includes('ECONNREFUSED'))).toBe(true); // it really tried
    expect(lines.find((l) => l.code === 'FICUS_ERR_FLAG_PROVIDER_NOT_READY')).toMatchObject({ level: 'warn', initTimeoutMs: 300 });

    const d = runtime.decider.decide(ROUTE, userContext('alice'));
    expect(await d).toEqual({ choice: 'legacy', variation: null, result: 'default-provider-not-ready' });
    await runtime.decider.decide(ROUTE, userContext('bob'));
    expect(await counterValue(registry, 'ficus_flag_evaluations_total', { flag: 'orders-migration', result: 'default-provider-not-ready' })).toBe(2);
    expect(lines.filter((l) => l.code === 'FICUS_ERR_FLAG_UNAVAILABLE')).toHaveLength(1); // rate-limited
    expect(await registry.getSingleMetricAsString('ficus_flag_provider_ready')).toContain('ficus_flag_provider_ready{provider="launchdarkly"} 0');
  });

  it('starts anyway when the stream is slow, evaluates once it delivers flags, and applies a streamed change on the next request', async () => {
    // A stand-in for LaunchDarkly's streaming service (GET /all, server-sent events), on loopback.
    const streams: ServerResponse[] = [];
    const server = createHttpServer((req, res) => {
      if (req.url !== '/all') return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(':\n\n');
      streams.push(res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
    const uri = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const send = (event: string, data: unknown) => { for (const s of streams) s.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`); };
    const flag = (version: number, fallthrough: number) => ({ key: 'orders-migration', version, on: true, variations: [true, false], offVariation: 1, fallthrough: { variation: fallthrough }, targets: [], rules: [], salt: 's' });

    const { runtime, lines } = ld(
      { provider: 'launchdarkly', launchdarkly: { initTimeout: '200ms', baseUri: uri, streamUri: uri, eventsUri: uri, sendEvents: false } },
      { env: { LD_SDK_KEY: 'sdk-test-key' } },
    );
    await runtime.start();
    expect(lines.some((l) => l.code === 'FICUS_ERR_FLAG_PROVIDER_NOT_READY')).toBe(true);
    expect(await runtime.decider.decide(ROUTE, userContext('alice'))).toMatchObject({ choice: 'legacy', result: 'default-provider-not-ready' });

    await waitUntil(() => streams.length > 0, { what: 'the SDK to open the stream' });
    send('put', { path: '/', data: { flags: { 'orders-migration': flag(1, 0) }, segments: {} } });
    await waitUntil(() => runtime.provider.ready(), { what: 'LaunchDarkly to initialise' });
    expect(await runtime.decider.decide(ROUTE, userContext('alice'))).toEqual({ choice: 'orders', variation: 'true', result: 'evaluated' });
    expect(lines.some((l) => String(l.message).startsWith('LaunchDarkly initialised late'))).toBe(true);

    send('patch', { path: '/flags/orders-migration', data: flag(2, 1) });
    await waitUntil(async () => (await runtime.decider.decide(ROUTE, userContext('alice'))).choice === 'legacy', { what: 'the streamed change' });
  });

  it('refuses to start without an SDK key or an offline file', () => {
    expect(() => createFlagProvider(compileFlagsSection({ provider: 'launchdarkly', launchdarkly: { sdkKeyEnv: 'MY_LD_KEY' } }, '/'), { logger: captureLogger().logger, registry: createRegistry(), env: {} }))
      .toThrow(/environment variable MY_LD_KEY is not set/);
  });

  it('turns a failure while building the context or calling the SDK into an error result, not a throw', async () => {
    const td = new TestData();
    const capture = captureLogger();
    const provider = new LaunchDarklyFlagProvider({ sdkKey: 'k', file: null, initTimeoutMs: 1000, updateProcessor: td.getFactory(), logger: capture.logger });
    cleanups.push(() => provider.close());
    await td.update(td.flag('f').booleanFlag().variationForAll(true));
    await provider.start();
    // Attributes whose enumeration throws stand in for any failure on the way into the SDK.
    const hostile = { kind: 'user', key: 'u', attributes: new Proxy({}, { ownKeys: () => { throw new Error('bad attributes'); } }) };
    expect(await provider.evaluate('f', hostile)).toEqual({ value: null, reason: 'error' });
    expect(capture.lines.some((l) => l.code === 'FICUS_ERR_FLAG_UNAVAILABLE' && l.err === 'bad attributes')).toBe(true);
  });
});

const ROUTE_CONFIG = {
  key: 'orders-migration',
  context: { kind: 'user', key: 'header:x-user-id' },
  variations: { true: 'orders', false: 'legacy' },
  default: 'legacy',
};

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}
