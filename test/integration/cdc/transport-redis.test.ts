import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { ChangeEvent } from '../../../src/cdc/event/change-event.js';
import type { Consumer } from '../../../src/cdc/transport/transport.js';
import { upsertUser } from '../../helpers/cdc-change-events.js';
import { createRedisTransport } from '../../../src/cdc/transport/redis-stream-transport.js';
import { transportContract, until } from './transport-contract.js';

const REDIS_URL = process.env.FICUS_TEST_REDIS ?? 'redis://127.0.0.1:6379';

transportContract('redis', {
  create: () => createRedisTransport({ url: REDIS_URL, maxLen: 10_000, blockMs: 200, claimIdleMs: 0, retry: { retries: 3, initialMs: 5, maxMs: 50, factor: 2 } }),
  redelivery: 'broker',
  cleanup: async (topics) => {
    if (topics.length === 0) return;
    const r = new Redis(REDIS_URL);
    await r.del(...topics);
    await r.quit();
  },
});

describe('redis stream transport', () => {
  it('claims entries another consumer of the group left pending (XAUTOCLAIM) and handles them before new ones', async () => {
    const topic = `ficus-test.claim${randomBytes(4).toString('hex')}.users`;
    const opts = { url: REDIS_URL, maxLen: null, blockMs: 100, claimIdleMs: 0 };
    const t1 = await createRedisTransport(opts);
    let c1: Consumer | null = null;
    let dying: Promise<void> | null = null;
    c1 = await t1.consume('g', [topic], async () => {
      dying = c1!.stop();
      throw new Error('crash');
    }, { consumer: 'worker-a' });
    const first = Array.from({ length: 5 }, (_, i) => ({ ...upsertUser(i, 'a', '0/10', i), topic }));
    await t1.publish(first);
    await until(() => dying !== null, 5000, 'the crash');
    await dying;
    const r = new Redis(REDIS_URL);
    const pending = (await r.xpending(topic, 'g')) as [number, ...unknown[]];
    expect(pending[0]).toBe(5);

    // A different consumer name: only XAUTOCLAIM can bring worker-a's entries to it.
    const got: ChangeEvent[] = [];
    const c2 = await t1.consume('g', [topic], async (events) => void got.push(...events), { consumer: 'worker-b' });
    const later = [{ ...upsertUser(9, 'b', '0/20'), topic }];
    await t1.publish(later);
    await until(() => got.length >= 6, 5000, 'claimed and new entries');
    expect(got).toEqual([...first, ...later]);
    expect(((await r.xpending(topic, 'g')) as [number])[0]).toBe(0);
    await c2.stop();
    await t1.close();
    await r.del(topic);
    await r.quit();
  });
});

describe('redis stream transport, when MAXLEN trimmed entries that were still pending', () => {
  it('logs them as lost, acks them, and goes on with the entries that remain', async () => {
    const topic = `ficus-test.trim${randomBytes(4).toString('hex')}.users`;
    const lost: unknown[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => void lost.push(JSON.parse(line)) });
    const opts = { url: REDIS_URL, maxLen: null, blockMs: 100, claimIdleMs: 0, logger };
    const t1 = await createRedisTransport(opts);
    let c1: Consumer | null = null;
    let dying: Promise<void> | null = null;
    c1 = await t1.consume('g', [topic], async () => {
      dying = c1!.stop();
      throw new Error('crash');
    });
    await t1.publish([{ ...upsertUser(1, 'a', '0/10'), topic }, { ...upsertUser(2, 'b', '0/10', 1), topic }]);
    await until(() => dying !== null, 5000, 'the crash');
    await dying;
    const r = new Redis(REDIS_URL);
    await r.xtrim(topic, 'MAXLEN', 0); // both entries gone while pending
    const got: ChangeEvent[] = [];
    const c2 = await t1.consume('g', [topic], async (events) => void got.push(...events));
    const later = [{ ...upsertUser(3, 'c', '0/20'), topic }];
    await t1.publish(later);
    await until(() => got.length >= 1, 5000, 'the entry after the trimmed ones');
    expect(got).toEqual(later);
    expect(lost.some((l) => (l as { msg?: string }).msg?.includes('trimmed by MAXLEN'))).toBe(true);
    expect(((await r.xpending(topic, 'g')) as [number])[0]).toBe(0);
    await c2.stop();
    await t1.close();
    await r.del(topic);
    await r.quit();
  });
});
