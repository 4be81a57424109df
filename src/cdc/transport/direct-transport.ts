import { FicusError, ficusError } from '../../errors.js';
import type { RandomSource } from '../../util/clock.js';
import { DEFAULT_RETRY, retry } from '../../util/retry.js';
import type { RetryPolicy } from '../../util/retry.js';
import type { ChangeEvent } from '../event/change-event.js';
import type { BatchHandler, ConsumeOptions, Consumer, Transport } from './transport.js';

/**
 * The in-process transport, the embedded default. It keeps nothing: the replication slot is the
 * durable log, so `publish` resolves only after every consumer's handler (its sink transaction)
 * resolved, and the source acks the slot only then. A failing handler is retried with backoff (the
 * source waits: that is the backpressure); if it keeps failing `publish` rejects, the slot is not
 * acked and the source sends the events again after its restart.
 */
export interface DirectTransportOptions {
  /** Handler retries before `publish` rejects. Every error is retried here: the slot holds the data. */
  readonly retry?: RetryPolicy;
  readonly random?: RandomSource;
  readonly sleep?: (ms: number) => Promise<void>;
}

interface DirectConsumer {
  readonly group: string;
  readonly topics: ReadonlySet<string>;
  readonly handler: BatchHandler;
  readonly maxBatch: number;
  /** The tail of this consumer's deliveries: the next one chains on it; `stop` waits for it. */
  inFlight: Promise<void>;
  stopped: boolean;
}

export class DirectTransport implements Transport {
  readonly kind = 'direct' as const;
  private readonly consumers = new Set<DirectConsumer>();
  private readonly policy: RetryPolicy;
  private closed = false;

  constructor(private readonly options: DirectTransportOptions = {}) {
    this.policy = options.retry ?? DEFAULT_RETRY;
  }

  async publish(events: readonly ChangeEvent[]): Promise<void> {
    if (this.closed) throw ficusError('FICUS_ERR_CDC_TRANSPORT', 'direct', 'publish after close');
    if (events.length === 0) return;
    // Consumers (one per sink) write to different databases: deliver to all of them at once and
    // wait for every one, so the source never acks past a sink that has not committed.
    const results = await Promise.allSettled([...this.consumers].map((c) => this.deliver(c, events)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      throw new FicusError('FICUS_ERR_CDC_TRANSPORT', ['direct', describe(failed.reason)], { cause: failed.reason });
    }
  }

  private async deliver(consumer: DirectConsumer, events: readonly ChangeEvent[]): Promise<void> {
    const mine = events.filter((e) => consumer.topics.has(e.topic));
    if (mine.length === 0 || consumer.stopped) return;
    const run = async () => {
      for (let i = 0; i < mine.length; i += consumer.maxBatch) {
        if (consumer.stopped) throw ficusError('FICUS_ERR_CDC_TRANSPORT', 'direct', `consumer ${consumer.group} stopped`);
        const batch = mine.slice(i, i + consumer.maxBatch);
        await retry(() => consumer.handler(batch), this.policy, {
          isRetriable: () => !consumer.stopped,
          ...(this.options.random ? { random: this.options.random } : {}),
          ...(this.options.sleep ? { sleep: this.options.sleep } : {}),
        });
      }
    };
    // Publishes may overlap (a source that decodes ahead); each consumer still gets them one after
    // the other, in publish order. After a failed delivery the next one still runs: the failed
    // publish rejected, so the source re-sends those events, and the sink's guard orders them.
    const p = consumer.inFlight.then(run);
    consumer.inFlight = p.catch(() => {});
    await p;
  }

  async consume(group: string, topics: readonly string[], handler: BatchHandler, options: ConsumeOptions = {}): Promise<Consumer> {
    if (this.closed) throw ficusError('FICUS_ERR_CDC_TRANSPORT', 'direct', 'consume after close');
    // No chunking unless asked: the source's batch (already bounded by its batchSize) becomes one
    // sink transaction, the cheapest way to apply it.
    const consumer: DirectConsumer = { group, topics: new Set(topics), handler, maxBatch: options.maxBatch ?? Number.POSITIVE_INFINITY, inFlight: Promise.resolve(), stopped: false };
    this.consumers.add(consumer);
    return {
      stop: async () => {
        consumer.stopped = true;
        this.consumers.delete(consumer);
        await consumer.inFlight;
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.consumers];
    this.consumers.clear();
    for (const c of all) c.stopped = true;
    await Promise.all(all.map((c) => c.inFlight));
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
