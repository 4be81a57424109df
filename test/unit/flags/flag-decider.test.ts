import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FlagDecider, compileRouteFlag } from '../../../src/flags/flag-decider.js';
import type { FlagContext, FlagProvider, FlagResult } from '../../../src/flags/flag-provider.js';
import { isPromise } from '../../../src/flags/flag-provider.js';
import type { RouteFlagConfig } from '../../../src/flags/flags-config.js';
import { LocalFlagProvider } from '../../../src/flags/local/local-flag-provider.js';
import { createRegistry } from '../../../src/observability/metrics.js';
import { ManualClock } from '../../../src/util/clock.js';
import { captureLogger, counterValue, userContext } from '../../helpers/flags-test-helpers.js';

const ORDERS: RouteFlagConfig = {
  key: 'orders-migration',
  context: { kind: 'user', key: 'header:x-user-id', attributes: { tenant: 'header:x-tenant' } },
  variations: { true: 'orders', false: 'legacy' },
  default: 'legacy',
};

describe('FlagDecider with the local provider', () => {
  let dir: string;
  let file: string;
  let provider: LocalFlagProvider;
  let capture: ReturnType<typeof captureLogger>;
  const registry = createRegistry();
  let clock: ManualClock;
  let decider: FlagDecider;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ficus-decider-'));
    file = join(dir, 'flags.yaml');
    await writeFile(file, [
      'flags:',
      '  orders-migration: { allow: { keys: [alice] }, rollout: 0 }',
      '  modes: { variations: [legacy, shadow, live, migrated], variation: live, fallthrough: shadow, deny: { keys: [bob] } }',
      '  odd: { variations: ["true", "false", "maybe"], variation: maybe, fallthrough: "false" }',
      '  rollout: { rollout: 20 }',
    ].join('\n'));
    capture = captureLogger();
    registry.clear();
    clock = new ManualClock(1000);
    provider = new LocalFlagProvider({ file, redis: null, logger: capture.logger, watch: false });
    await provider.start();
    decider = new FlagDecider(provider, { logger: capture.logger, registry, clock, logIntervalMs: 10_000 });
  });

  afterEach(async () => {
    await provider.close();
    await rm(dir, { recursive: true, force: true });
  });

  const fallbackLogs = () => capture.lines.filter((l) => l.code === 'FICUS_ERR_FLAG_UNAVAILABLE');

  it('maps the served variation to the route target synchronously and counts it as evaluated', async () => {
    const flag = compileRouteFlag('orders', ORDERS);
    const d = decider.decide(flag, userContext('alice'));
    expect(isPromise(d)).toBe(false);
    expect(d).toEqual({ choice: 'orders', variation: 'true', result: 'evaluated' });
    expect(decider.decide(flag, userContext('carol'))).toEqual({ choice: 'legacy', variation: 'false', result: 'evaluated' });
    expect(await counterValue(registry, 'ficus_flag_evaluations_total', { flag: 'orders-migration', result: 'evaluated' })).toBe(2);
    expect(fallbackLogs()).toEqual([]);
  });

  it('sends 20% ± 2% of 10k distinct users to the new service, each consistently; at 50% the first 20% stay', async () => {
    const flag = compileRouteFlag('orders', { ...ORDERS, key: 'rollout' });
    const users = Array.from({ length: 10_000 }, (_, i) => `u${i}@example.com`);
    const toOrders = () => new Set(users.filter((u) => (decider.decide(flag, userContext(u)) as { choice: string }).choice === 'orders'));
    const at20 = toOrders();
    expect(Math.abs(at20.size - 2000)).toBeLessThanOrEqual(200);
    expect(toOrders()).toEqual(at20);
    await writeFile(file, (await readFile(file, 'utf8')).replace('rollout: { rollout: 20 }', 'rollout: { rollout: 50 }'));
    expect(await provider.reload()).toBe(true);
    const at50 = toOrders();
    expect(Math.abs(at50.size - 5000)).toBeLessThanOrEqual(200);
    expect([...at20].filter((u) => !at50.has(u))).toEqual([]);
  });

  it('compiles the route flag block with what context extraction needs', () => {
    const flag = compileRouteFlag('orders', ORDERS);
    expect(flag).toMatchObject({ route: 'orders', key: 'orders-migration', default: 'legacy', contextKind: 'user', contextKey: 'header:x-user-id', contextAttributes: [['tenant', 'header:x-tenant']] });
    expect(compileRouteFlag('x', { ...ORDERS, context: { key: 'ip' } })).toMatchObject({ contextKind: 'user', contextAttributes: [] });
  });

  it('uses a mode value as a variation', () => {
    const flag = compileRouteFlag('payments', { ...ORDERS, key: 'modes', variations: { legacy: 'legacy', shadow: 'shadow', live: 'live', migrated: 'migrated' } });
    expect(decider.decide(flag, userContext('carol'))).toMatchObject({ choice: 'live', result: 'evaluated' });
    expect(decider.decide(flag, userContext('bob'))).toMatchObject({ choice: 'shadow', result: 'evaluated' });
  });

  it('serves the default for an unknown flag, with a log line and a metric, never throwing', async () => {
    const flag = compileRouteFlag('orders', { ...ORDERS, key: 'no-such-flag' });
    expect(decider.decide(flag, userContext('alice'))).toEqual({ choice: 'legacy', variation: null, result: 'default-flag-unknown' });
    expect(await counterValue(registry, 'ficus_flag_evaluations_total', { flag: 'no-such-flag', result: 'default-flag-unknown' })).toBe(1);
    expect(fallbackLogs()).toEqual([
      expect.objectContaining({ level: 'warn', flag: 'no-such-flag', route: 'orders', result: 'default-flag-unknown', served: 'legacy', suppressed: 0 }),
    ]);
  });

  it('serves the default when the context key is missing (e.g. no x-user-id header)', async () => {
    const flag = compileRouteFlag('orders', ORDERS);
    expect(decider.decide(flag, userContext(null, { tenant: 'acme' }))).toMatchObject({ choice: 'legacy', result: 'default-context-key-missing' });
    expect(await counterValue(registry, 'ficus_flag_evaluations_total', { flag: 'orders-migration', result: 'default-context-key-missing' })).toBe(1);
    expect(fallbackLogs()).toHaveLength(1);
    expect(String(fallbackLogs()[0].message)).toContain('serving the route default "legacy"');
  });

  it('serves the default for a variation the route does not map', async () => {
    const flag = compileRouteFlag('orders', { ...ORDERS, key: 'odd' });
    expect(decider.decide(flag, userContext('carol'))).toEqual({ choice: 'legacy', variation: 'maybe', result: 'default-unmapped-variation' });
    expect(await counterValue(registry, 'ficus_flag_evaluations_total', { flag: 'odd', result: 'default-unmapped-variation' })).toBe(1);
  });

  it('logs a repeated fallback once per interval with the number suppressed, but counts every one', async () => {
    const flag = compileRouteFlag('orders', ORDERS);
    for (let i = 0; i < 5; i++) decider.decide(flag, userContext(null));
    expect(fallbackLogs()).toHaveLength(1);
    clock.advance(10_000);
    decider.decide(flag, userContext(null));
    expect(fallbackLogs()).toHaveLength(2);
    expect(fallbackLogs()[1]).toMatchObject({ suppressed: 4 });
    expect(await counterValue(registry, 'ficus_flag_evaluations_total', { flag: 'orders-migration', result: 'default-context-key-missing' })).toBe(6);
  });

  it('accumulates counts across scrapes (the hot path tallies, the scrape adds them up)', async () => {
    const flag = compileRouteFlag('orders', ORDERS);
    decider.decide(flag, userContext('alice'));
    decider.decide(flag, userContext('alice'));
    expect(await counterValue(registry, 'ficus_flag_evaluations_total', { flag: 'orders-migration', result: 'evaluated' })).toBe(2);
    decider.decide(flag, userContext('carol'));
    expect(await counterValue(registry, 'ficus_flag_evaluations_total', { flag: 'orders-migration', result: 'evaluated' })).toBe(3);
    expect(await registry.metrics()).toContain('ficus_flag_evaluations_total{flag="orders-migration",result="evaluated"} 3');
  });

  it('reports whether the provider is ready in ficus_flag_provider_ready', async () => {
    expect(await registry.getSingleMetricAsString('ficus_flag_provider_ready')).toContain('ficus_flag_provider_ready{provider="local"} 1');
  });
});

describe('FlagDecider with a faulty provider', () => {
  // A provider with a bug: the decider must contain it (default served, logged, counted).
  class BrokenProvider implements FlagProvider {
    readonly name = 'local' as const;
    constructor(private readonly mode: 'throw' | 'reject' | 'not-ready') {}
    evaluate(_key: string, _ctx: FlagContext): FlagResult | Promise<FlagResult> {
      if (this.mode === 'throw') throw new Error('boom');
      if (this.mode === 'reject') return Promise.reject(new Error('async boom'));
      return { value: null, reason: 'provider-not-ready' };
    }
    ready() { return false; }
    async start() {}
    async close() {}
  }

  it.each([['throw'], ['reject']] as const)('serves the default when evaluate %ss', async (mode) => {
    const { logger, lines } = captureLogger();
    const registry = createRegistry();
    const decider = new FlagDecider(new BrokenProvider(mode), { logger, registry });
    const d = await decider.decide(compileRouteFlag('orders', ORDERS), userContext('alice'));
    expect(d).toMatchObject({ choice: 'legacy', result: 'default-error' });
    expect(lines.find((l) => l.code === 'FICUS_ERR_FLAG_UNAVAILABLE')).toMatchObject({ err: mode === 'throw' ? 'boom' : 'async boom' });
    expect(await counterValue(registry, 'ficus_flag_evaluations_total', { flag: 'orders-migration', result: 'default-error' })).toBe(1);
  });

  it('serves the default while the provider is not ready', async () => {
    const { logger } = captureLogger();
    const registry = createRegistry();
    const decider = new FlagDecider(new BrokenProvider('not-ready'), { logger, registry });
    expect(decider.decide(compileRouteFlag('orders', ORDERS), userContext('alice'))).toMatchObject({ result: 'default-provider-not-ready' });
    expect(await registry.getSingleMetricAsString('ficus_flag_provider_ready')).toContain('ficus_flag_provider_ready{provider="local"} 0');
  });
});
