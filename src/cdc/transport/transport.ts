import type { ChangeEvent } from '../event/change-event.js';

/**
 * The one seam between the source and the sinks. Three implementations share this contract (and the
 * contract suite in test/integration/cdc/transport-contract.ts): `direct` (in-process, the embedded
 * default), `redis` (Redis Streams) and `kafka` (kafkajs).
 *
 * Delivery is at-least-once end to end; sinks make it effectively-once with their per-row LSN guard.
 * The two acknowledgements that make this hold:
 * 1. `publish` resolves only when the events are durable in the transport. For `direct` the transport
 *    itself keeps nothing, so "durable" means every consumer's handler resolved, i.e. every sink
 *    committed. The source acks the replication slot only after `publish` resolves.
 * 2. A consumer's handler resolves only after its sink committed; only then does the transport ack
 *    (XACK, committed Kafka offset). A consumer that dies before that gets the events again.
 *
 * Ordering: events of one topic are delivered in publish order (so per key, too), also when
 * publish calls overlap (a source may publish the next batch before the previous one resolved and
 * ack each position as its own publish resolves, in order); there is no order across topics (each
 * topic is its own stream / its own Kafka topic).
 */
export interface Transport {
  readonly kind: TransportKind;
  /**
   * Hands a batch (in source order) to the transport. Resolves when durable as above; rejects if it
   * is not (direct: a handler failed; redis/kafka: the broker refused after retries) — then the
   * source must not ack and will send the events again.
   */
  publish(events: readonly ChangeEvent[]): Promise<void>;
  /**
   * Starts consuming `topics` as consumer group `group` (one group per sink: `ficus-<sink name>`).
   * Each handler call gets a batch in topic order; the batch is acked only after the handler
   * resolves. A handler that rejects gets the same events again (after backoff).
   */
  consume(group: string, topics: readonly string[], handler: BatchHandler, options?: ConsumeOptions): Promise<Consumer>;
  /** Stops every consumer (waiting for in-flight handlers) and disconnects. Unacked events stay pending. */
  close(): Promise<void>;
}

export type TransportKind = 'direct' | 'redis' | 'kafka';

export type BatchHandler = (events: readonly ChangeEvent[]) => Promise<void>;

export interface ConsumeOptions {
  /**
   * Stable consumer name inside the group (redis); a restarted process with the same name first
   * re-reads its own pending entries, which keeps per-key order across a crash. Default `<group>-1`.
   */
  readonly consumer?: string;
  /** Most events per handler call. Default: redis/kafka 1000 per read; direct: the whole published batch. */
  readonly maxBatch?: number;
}

export interface Consumer {
  /** Stops fetching, waits for the in-flight handler (and its ack) to finish. */
  stop(): Promise<void>;
}
