import type { Logger } from '../observability/logger.js';
import type { Registry } from '../observability/metrics.js';
import type { Clock } from '../util/clock.js';
import { systemClock } from '../util/clock.js';
import { backoffDelay } from '../util/retry.js';
import type { SourceCatalog } from './config/check-databases.js';
import type { CdcModel } from './config/cdc-model.js';
import { topicFor } from './config/cdc-model.js';
import type { ChangeEvent } from './event/change-event.js';
import { EnvelopeBuilder } from './event/envelope.js';
import type { Sink, SinkDeps } from './sink/knex-sink.js';
import { createSink } from './sink/knex-sink.js';
import type { SinkStatus } from './sink/sink-status.js';
import type { SourceStatus } from './source/pg-source.js';
import { PgSource } from './source/pg-source.js';
import type { SnapshotProgress } from './source/snapshot-reader.js';
import { createTransport } from './transport/create-transport.js';
import type { Consumer, Transport } from './transport/transport.js';

export const FICUS_VERSION = '0.1.0';

export interface PipelineDeps {
  readonly logger: Logger;
  readonly registry: Registry;
  readonly clock?: Clock;
  readonly onSnapshotProgress?: (p: SnapshotProgress) => void;
  /** Extra sink dependencies (tests inject faults here). */
  readonly sinkDeps?: Partial<SinkDeps>;
  /** Called with every batch the source hands on, after it is durable (tests, benchmarks). */
  readonly onDelivered?: (events: readonly ChangeEvent[]) => void;
  readonly random?: () => number;
}

export interface PipelineStatus {
  readonly source: SourceStatus;
  readonly sinks: readonly SinkStatus[];
}

/**
 * The change pipeline: source → events → transport → sinks. The composition is here and nothing
 * else; the guarantees come from the order of acknowledgements:
 *  1. sinks are migrated and subscribed before the source starts (direct delivers only to
 *     subscribed consumers);
 *  2. the source hands each batch to `transport.publish`, which resolves when durable — direct:
 *     every sink committed; redis/kafka: the broker acked — and only then acks the slot;
 *  3. sinks ack the transport (XACK / offset commit) after their transaction commits.
 * A source failure (connection lost) restarts the source from the slot's confirmed position with
 * backoff; anything delivered but not acked comes again and the sinks' LSN guard drops it.
 */
export class CdcPipeline {
  private transport: Transport | null = null;
  private readonly sinks: Sink[] = [];
  private readonly consumers: Consumer[] = [];
  private readonly source: PgSource;
  private stopping = false;
  private running: Promise<void> | null = null;
  private readonly clock: Clock;

  constructor(private readonly model: CdcModel, private readonly catalog: SourceCatalog, private readonly d: PipelineDeps) {
    this.clock = d.clock ?? systemClock;
    const db = new URL(model.source.url).pathname.replace(/^\//, '') || 'postgres';
    const envelope = new EnvelopeBuilder({ topicPrefix: model.topicPrefix, database: db, version: FICUS_VERSION, tombstones: model.source.tombstones, now: () => this.clock.now() });
    this.source = new PgSource({
      model: model.source,
      catalog,
      envelope,
      logger: d.logger.child({ component: 'cdc-source' }),
      registry: d.registry,
      clock: this.clock,
      onSnapshotProgress: d.onSnapshotProgress,
      deliver: async (batch) => {
        if (batch.events.length > 0) await this.transport?.publish(batch.events);
        d.onDelivered?.(batch.events);
      },
    });
  }

  /** Steps 1 and 2: transport, sinks, subscriptions; then the source runs in the background. */
  async start(): Promise<void> {
    const { model, d } = this;
    const transport = await createTransport(model.transport, { logger: d.logger.child({ component: 'cdc-transport' }), registry: d.registry });
    this.transport = transport;
    for (const sm of model.sinks) {
      const sink = await createSink(sm, { sourceId: model.source.slot, logger: d.logger.child({ component: 'cdc-sink', sink: sm.name }), registry: d.registry, sourceColumns: this.catalog, ...d.sinkDeps });
      await sink.migrate();
      this.sinks.push(sink);
      const topics = [...new Set(sm.tables.map((t) => topicFor(model.topicPrefix, t.from)))];
      this.consumers.push(await transport.consume(`ficus-${sm.name}`, topics, (events) => sink.apply(events), { consumer: `ficus-${sm.name}-1` }));
    }
    this.running = this.runSource();
  }

  private async runSource(): Promise<void> {
    const policy = { retries: Number.MAX_SAFE_INTEGER, initialMs: 200, maxMs: 10_000, factor: 2 };
    for (let attempt = 0; !this.stopping; attempt++) {
      try {
        await this.source.run();
        return;
      } catch (err) {
        if (this.stopping) return;
        const delay = backoffDelay(policy, Math.min(attempt, 10), this.d.random ?? Math.random);
        this.d.logger.error({ err: (err as Error).message, retryInMs: delay }, 'cdc source failed; restarting from the slot position');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** Resolves when the source ends (after `stop()`), rejects never: failures are retried. */
  async wait(): Promise<void> {
    await this.running;
  }

  /** Graceful stop: the source delivers and acks what it holds, consumers finish, connections close. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.source.stop();
    await this.running;
    for (const c of this.consumers) await c.stop();
    await this.transport?.close();
    for (const s of this.sinks) await s.close();
  }

  async status(): Promise<PipelineStatus> {
    return { source: this.source.status(), sinks: await Promise.all(this.sinks.map((s) => s.status())) };
  }
}
