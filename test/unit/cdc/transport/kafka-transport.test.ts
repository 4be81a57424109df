import { describe, expect, it } from 'vitest';
import type { Consumer as KafkaConsumer, ConsumerRunConfig, EachBatchPayload, KafkaMessage } from 'kafkajs';
import type { ChangeEvent } from '../../../../src/cdc/event/change-event.js';
import { decodeKafkaMessage, encodeKafkaMessage, KafkaGroupConsumer, MAX_REQUEST_BYTES, produceRequests } from '../../../../src/cdc/transport/kafka-transport.js';
import { deleteUser, tombstone, upsertUser } from '../../../helpers/cdc-change-events.js';

/**
 * No Kafka broker can run here; the contract suite runs against one when KAFKA_BROKERS is set.
 * These tests pin what can be checked without one: the message format and the ack logic of
 * eachBatch, driven through a stand-in for kafkajs's consumer that records every call.
 */
describe('kafka message format', () => {
  it('uses the Debezium key and value JSON, null for tombstones, and carries the position in headers', () => {
    const e = { ...upsertUser(1, 'a@x', '0/16B3748', 7), key: { id: 9_007_199_254_740_993n } };
    const m = encodeKafkaMessage(e);
    expect(m.key).toBe('{"id":9007199254740993}');
    expect(JSON.parse(m.value as string)).toMatchObject({ op: 'c', after: { email: 'a@x' } });
    expect(m.headers).toEqual({ 'ficus.lsn': '0/16B3748', 'ficus.seq': '7', 'ficus.schema': 'public', 'ficus.table': 'users' });
    const back = decodeKafkaMessage(e.topic, { key: Buffer.from(m.key as string), value: Buffer.from(m.value as string), headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, Buffer.from(String(v))])) });
    expect(back).toEqual(e);
    const t = tombstone(deleteUser(1, '0/20'));
    const tm = encodeKafkaMessage(t);
    expect(tm.value).toBeNull();
    expect(decodeKafkaMessage(t.topic, { key: Buffer.from(tm.key as string), value: null, headers: Object.fromEntries(Object.entries(tm.headers ?? {}).map(([k, v]) => [k, Buffer.from(String(v))])) })).toEqual(t);
  });
});

describe('kafka produce requests', () => {
  it('splits a batch into requests of bounded size, in order, grouped by topic inside each', () => {
    const events: ChangeEvent[] = [];
    for (let i = 1; i <= 3000; i++) {
      const e = upsertUser(i, `user${i}@example.com`, '0/16B3748', i);
      events.push(i % 3 === 0 ? { ...e, topic: 'legacy.public.orders' } : e);
    }
    const requests = produceRequests(events, 64 * 1024);
    expect(requests.length).toBeGreaterThan(10);
    const sizes = requests.map((r) => r.flatMap((t) => t.messages).reduce((n, m) => n + String(m.key).length + String(m.value).length, 0));
    expect(Math.max(...sizes)).toBeLessThanOrEqual(64 * 1024);
    // read back in request order, each topic's messages keep the events' order
    const seqs = (topic: string) => requests.flatMap((r) => r.filter((t) => t.topic === topic).flatMap((t) => t.messages.map((m) => Number(m.headers?.['ficus.seq']))));
    expect(seqs('legacy.public.orders')).toEqual(events.filter((e) => e.topic === 'legacy.public.orders').map((e) => e.position.seq));
    expect(seqs('legacy.public.users')).toEqual(events.filter((e) => e.topic === 'legacy.public.users').map((e) => e.position.seq));
    expect(produceRequests(events.slice(0, 10), MAX_REQUEST_BYTES)).toHaveLength(1);
  });

  it('sends an event larger than the limit alone rather than dropping it', () => {
    const big = upsertUser(1, 'x'.repeat(2000), '0/1', 0);
    const requests = produceRequests([upsertUser(2, 'a@x', '0/1', 1), big, upsertUser(3, 'b@x', '0/1', 2)], 1000);
    expect(requests.map((r) => r[0].messages.map((m) => Number(m.headers?.['ficus.seq'])))).toEqual([[1], [0], [2]]);
  });
});

function fakeConsumer() {
  const calls: string[] = [];
  let run: ConsumerRunConfig | null = null;
  const consumer = {
    connect: async () => void calls.push('connect'),
    subscribe: async (s: { topics: string[]; fromBeginning: boolean }) => void calls.push(`subscribe ${s.topics.join(',')} fromBeginning=${s.fromBeginning}`),
    run: async (config: ConsumerRunConfig) => {
      run = config;
      calls.push(`run autoCommit=${config.autoCommit} eachBatchAutoResolve=${config.eachBatchAutoResolve}`);
    },
    commitOffsets: async (o: Array<{ topic: string; partition: number; offset: string }>) => void calls.push(`commit ${o.map((x) => `${x.topic}/${x.partition}@${x.offset}`).join(',')}`),
    stop: async () => void calls.push('stop'),
    disconnect: async () => void calls.push('disconnect'),
  };
  return { consumer: consumer as unknown as KafkaConsumer, calls, run: () => run! };
}

function batchOf(events: ChangeEvent[], firstOffset: number, state: { running: boolean }, calls: string[]): EachBatchPayload {
  const messages = events.map((e, i) => {
    const m = encodeKafkaMessage(e);
    return {
      key: Buffer.from(m.key as string),
      value: m.value === null ? null : Buffer.from(m.value as string),
      headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, Buffer.from(String(v))])),
      offset: String(firstOffset + i),
      timestamp: '0',
      attributes: 0,
    } as KafkaMessage;
  });
  return {
    batch: { topic: events[0].topic, partition: 3, messages } as unknown as EachBatchPayload['batch'],
    resolveOffset: (o: string) => void calls.push(`resolve ${o}`),
    heartbeat: async () => {},
    pause: () => () => {},
    commitOffsetsIfNecessary: async () => {},
    uncommittedOffsets: () => ({ topics: [] }),
    isRunning: () => state.running,
    isStale: () => false,
  };
}

const settings = { maxBatch: 2, policy: { retries: 3, initialMs: 1, maxMs: 2, factor: 2 }, random: () => 0.5 };

describe('kafka consumer ack logic', () => {
  it('runs without auto-commit, hands chunks to the handler, and commits next-offsets only after each chunk succeeded', async () => {
    const f = fakeConsumer();
    const got: ChangeEvent[][] = [];
    const c = new KafkaGroupConsumer(f.consumer, ['legacy.public.users'], async (events) => {
      f.calls.push(`handle ${events.length}`);
      got.push([...events]);
    }, settings);
    await c.start();
    const events = [upsertUser(1, 'a', '0/10'), upsertUser(2, 'b', '0/10', 1), upsertUser(3, 'c', '0/10', 2)];
    await f.run().eachBatch!(batchOf(events, 40, { running: true }, f.calls));
    expect(f.calls).toEqual([
      'connect',
      'subscribe legacy.public.users fromBeginning=true',
      'run autoCommit=false eachBatchAutoResolve=false',
      'handle 2', 'resolve 41', 'commit legacy.public.users/3@42',
      'handle 1', 'resolve 42', 'commit legacy.public.users/3@43',
    ]);
    expect(got.flat()).toEqual(events);
  });

  it('retries a failing handler and commits only once it succeeded', async () => {
    const f = fakeConsumer();
    let n = 0;
    const c = new KafkaGroupConsumer(f.consumer, ['t'], async () => {
      n++;
      f.calls.push(`handle try ${n}`);
      if (n < 3) throw new Error('sink down');
    }, settings);
    await c.start();
    await f.run().eachBatch!(batchOf([upsertUser(1, 'a', '0/10')], 7, { running: true }, f.calls));
    expect(f.calls.slice(3)).toEqual(['handle try 1', 'handle try 2', 'handle try 3', 'resolve 7', 'commit legacy.public.users/3@8']);
  });

  it('leaves the offsets uncommitted when the consumer stops while the handler fails (so the events come again)', async () => {
    const f = fakeConsumer();
    const state = { running: true };
    const c = new KafkaGroupConsumer(f.consumer, ['t'], async () => {
      state.running = false; // the consumer is being stopped / lost the partition
      throw new Error('crash');
    }, settings);
    await c.start();
    await f.run().eachBatch!(batchOf([upsertUser(1, 'a', '0/10')], 7, state, f.calls));
    expect(f.calls.some((x) => x.startsWith('resolve') || x.startsWith('commit'))).toBe(false);
    await c.stop();
    expect(f.calls.slice(-2)).toEqual(['stop', 'disconnect']);
  });
});
