import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChangeEvent } from '../../../src/cdc/event/change-event.js';
import type { Consumer, Transport } from '../../../src/cdc/transport/transport.js';
import { change, deleteUser, tombstone } from '../../helpers/cdc-change-events.js';

/**
 * The contract every transport keeps, run against each implementation by its own *.test.ts file.
 *
 * `redelivery` says who brings back events a consumer did not ack: a broker (Redis, Kafka) keeps
 * them and hands them to the restarted consumer; the in-process transport keeps nothing, so its
 * `publish` rejects and the publisher (the source, whose slot was not acked) sends them again.
 */
export interface TransportHarness {
  /** A new transport, as a new process would create it (same broker, same topics). */
  create(): Promise<Transport>;
  readonly redelivery: 'broker' | 'publisher';
  /** Removes the topics (streams) the tests created. */
  cleanup(topics: readonly string[]): Promise<void>;
  /** How long to wait for deliveries (a broker's group join can take seconds). */
  readonly waitMs?: number;
}

export async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function transportContract(name: string, harness: TransportHarness): void {
  describe(`transport contract: ${name}`, () => {
    const open: Transport[] = [];
    const topics: string[] = [];
    const waitMs = harness.waitMs ?? 10_000;

    function topic(): string {
      const t = `ficus-test.${randomBytes(5).toString('hex')}.users`;
      topics.push(t);
      return t;
    }
    function withTopic(e: ChangeEvent, t: string): ChangeEvent {
      return { ...e, topic: t };
    }
    async function create(): Promise<Transport> {
      const t = await harness.create();
      open.push(t);
      return t;
    }
    /** A consumer that records what it was handed, optionally failing some calls. */
    async function record(t: Transport, group: string, ts: readonly string[], fail: (events: readonly ChangeEvent[], call: number) => boolean = () => false) {
      const got: ChangeEvent[] = [];
      let calls = 0;
      const consumer: Consumer = await t.consume(group, ts, async (events) => {
        calls++;
        if (fail(events, calls)) throw new Error('handler failed (injected)');
        got.push(...events);
      }, { maxBatch: 50 });
      return { got, consumer, calls: () => calls };
    }

    afterEach(async () => {
      await Promise.all(open.splice(0).map((t) => t.close()));
      await harness.cleanup(topics.splice(0));
    });

    it('delivers every event, in publish order per topic and so per key, with key, value and position intact', async () => {
      const t = await create();
      const [a, b] = [topic(), topic()];
      const group = `g-${randomBytes(3).toString('hex')}`;
      const r = await record(t, group, [a, b]);
      const sent: ChangeEvent[] = [];
      for (let batch = 0; batch < 5; batch++) {
        const events = Array.from({ length: 40 }, (_, i) => {
          const n = batch * 40 + i;
          const e = change({
            op: n % 7 === 0 ? 'u' : 'c', key: { id: n % 10 }, lsn: `1/${(batch + 1).toString(16).toUpperCase()}0`, seq: i,
            after: { id: n % 10, email: `u${n}@x`, big: 9_007_199_254_740_993n + BigInt(n), doc: { nested: ['é', n] }, note: null },
          });
          return withTopic(e, n % 2 === 0 ? a : b);
        });
        sent.push(...events);
        await t.publish(events);
      }
      await until(() => r.got.length >= sent.length, waitMs, `${sent.length} events`);
      expect(r.got.length).toBe(sent.length);
      for (const tp of [a, b]) {
        expect(r.got.filter((e) => e.topic === tp)).toEqual(sent.filter((e) => e.topic === tp));
      }
    });

    it('keeps publish order per topic when publishes overlap (a source that decodes ahead)', async () => {
      const t = await create();
      const a = topic();
      const got: ChangeEvent[] = [];
      let first = true;
      await t.consume(`g-${randomBytes(3).toString('hex')}`, [a], async (events) => {
        // the first delivery is slow, so a second publish is under way meanwhile
        if (first) {
          first = false;
          await new Promise((r) => setTimeout(r, 50));
        }
        got.push(...events);
      });
      const batches = [0, 1, 2].map((b) => Array.from({ length: 10 }, (_, i) => withTopic(change({ op: 'u', key: { id: i % 2 }, after: { id: i % 2, v: b * 10 + i }, lsn: `5/${b + 1}0`, seq: i }), a)));
      await Promise.all(batches.map((batch) => t.publish(batch)));
      await until(() => got.length >= 30, waitMs, '30 events');
      expect(got).toEqual(batches.flat());
    });

    it('carries tombstones (null value) and truncates (null key)', async () => {
      const t = await create();
      const a = topic();
      const r = await record(t, `g-${randomBytes(3).toString('hex')}`, [a]);
      const del = withTopic(deleteUser(7, '2/10', 3), a);
      const sent = [del, tombstone(del), withTopic(change({ op: 't', lsn: '2/20' }), a)];
      await t.publish(sent);
      await until(() => r.got.length >= 3, waitMs, 'delete, tombstone, truncate');
      expect(r.got).toEqual(sent);
      expect(r.got[1].value).toBeNull();
      expect(r.got[1].key).toEqual({ id: 7 });
      expect(r.got[2].key).toBeNull();
    });

    it('hands a batch whose handler failed to the handler again, before anything after it', async () => {
      const t = await create();
      const a = topic();
      // The second handler call fails: the first batch stays acked, the failed one and everything
      // after it (including what a transport may have read ahead) come again, in order.
      const r = await record(t, `g-${randomBytes(3).toString('hex')}`, [a], (_events, call) => call === 2);
      const sent = Array.from({ length: 130 }, (_, i) => withTopic(change({ op: 'u', key: { id: i % 3 }, after: { id: i % 3, v: i }, lsn: '3/10', seq: i }), a));
      await t.publish(sent);
      await until(() => r.got.length >= sent.length, waitMs, 'redelivered events');
      expect(r.calls()).toBeGreaterThanOrEqual(3);
      expect(r.got).toEqual(sent);
    });

    it('redelivers events a consumer did not ack to the restarted consumer, and not the ones it acked', async () => {
      const a = topic();
      const group = `g-${randomBytes(3).toString('hex')}`;
      const t1 = await create();
      const first = [withTopic(change({ op: 'c', key: { id: 1 }, after: { id: 1 }, lsn: '4/10' }), a)];
      const second = [withTopic(change({ op: 'c', key: { id: 2 }, after: { id: 2 }, lsn: '4/20' }), a)];
      // The first consumer acks `first`, then dies while handling `second` (its handler never
      // completes: it stops and fails), so `second` is never acked.
      let c1: Consumer | null = null;
      let dying: Promise<void> | null = null;
      const got1: ChangeEvent[] = [];
      c1 = await t1.consume(group, [a], async (events) => {
        if (events.some((e) => e.position.lsn === '4/20')) {
          dying = c1!.stop();
          throw new Error('consumer crashed mid-batch');
        }
        got1.push(...events);
      });
      await t1.publish(first);
      await until(() => got1.length === 1, waitMs, 'first event');
      const published = t1.publish(second).then(() => 'resolved', () => 'rejected');
      await until(() => dying !== null, waitMs, 'the crash');
      await dying;
      const outcome = await published;
      await t1.close();

      const t2 = await create();
      const r2 = await record(t2, group, [a]);
      if (harness.redelivery === 'publisher') {
        // Nothing durable in between: publish told the source, which sends again after restart.
        expect(outcome).toBe('rejected');
        await t2.publish(second);
      } else {
        expect(outcome).toBe('resolved');
      }
      const marker = [withTopic(change({ op: 'c', key: { id: 3 }, after: { id: 3 }, lsn: '4/30' }), a)];
      await t2.publish(marker);
      await until(() => r2.got.length >= 2, waitMs, 'redelivery and marker');
      // `second` again (unacked), then the marker; never `first` (acked).
      expect(r2.got).toEqual([...second, ...marker]);
    });
  });
}
