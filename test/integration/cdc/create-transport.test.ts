import { describe, expect, it } from 'vitest';
import { createTransport } from '../../../src/cdc/transport/create-transport.js';
import { freePort } from '../../../src/util/embedded-postgres.js';
import { createRegistry } from '../../../src/observability/metrics.js';
import { FicusError } from '../../../src/errors.js';
import { upsertUser } from '../../helpers/cdc-change-events.js';

async function codeOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(FicusError);
  return (err as FicusError).code;
}

describe('createTransport', () => {
  it('builds the direct transport and counts published and delivered events when given a registry', async () => {
    const registry = createRegistry();
    const t = await createTransport({ kind: 'direct' }, { registry });
    expect(t.kind).toBe('direct');
    const got: unknown[] = [];
    await t.consume('ficus-users', ['legacy.public.users'], async (events) => void got.push(...events));
    await t.publish([upsertUser(1, 'a@x', '0/10'), upsertUser(2, 'b@x', '0/10', 1)]);
    expect(got).toHaveLength(2);
    const text = await registry.metrics();
    expect(text).toContain('ficus_cdc_transport_published_events_total{transport="direct"} 2');
    expect(text).toContain('ficus_cdc_transport_delivered_events_total{transport="direct",group="ficus-users"} 2');
    await t.close();
  });

  it('rejects unusable settings with FICUS_ERR_CDC_TRANSPORT_CONFIG and an unreachable Redis or Kafka with FICUS_ERR_CDC_TRANSPORT', async () => {
    expect(await codeOf(createTransport({ kind: 'redis', url: 'not a url', maxLen: null }))).toBe('FICUS_ERR_CDC_TRANSPORT_CONFIG');
    expect(await codeOf(createTransport({ kind: 'redis', url: 'http://127.0.0.1:6379', maxLen: null }))).toBe('FICUS_ERR_CDC_TRANSPORT_CONFIG');
    expect(await codeOf(createTransport({ kind: 'kafka', brokers: [], clientId: 'x' }))).toBe('FICUS_ERR_CDC_TRANSPORT_CONFIG');
    const port = await freePort();
    expect(await codeOf(createTransport({ kind: 'redis', url: `redis://127.0.0.1:${port}`, maxLen: null }))).toBe('FICUS_ERR_CDC_TRANSPORT');
    const started = Date.now();
    const noRetry = { retry: { retries: 0, initialMs: 10, maxMs: 10, factor: 2 } };
    expect(await codeOf(createTransport({ kind: 'kafka', brokers: [`127.0.0.1:${port}`], clientId: 'ficus-test' }, noRetry))).toBe('FICUS_ERR_CDC_TRANSPORT');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('trims a Redis stream to about maxLen entries', async () => {
    const t = await createTransport({ kind: 'redis', url: 'redis://127.0.0.1:6379', maxLen: 100 });
    const topic = `ficus-test.trim${Date.now()}.users`;
    const events = Array.from({ length: 1000 }, (_, i) => ({ ...upsertUser(i, 'x', '0/10', i), topic }));
    for (let i = 0; i < events.length; i += 100) await t.publish(events.slice(i, i + 100));
    const { Redis } = await import('ioredis');
    const r = new Redis('redis://127.0.0.1:6379');
    const len = await r.xlen(topic);
    await r.del(topic);
    await r.quit();
    await t.close();
    // MAXLEN ~ trims whole macro nodes, so the length is near, not exactly, maxLen.
    expect(len).toBeGreaterThanOrEqual(100);
    expect(len).toBeLessThan(400);
  });
});
