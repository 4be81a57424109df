import { Kafka, logLevel } from 'kafkajs';
import type { Admin, Consumer as KafkaConsumer, EachBatchPayload, IHeaders, KafkaMessage, LogEntry, Message, Producer, TopicMessages } from 'kafkajs';
import { FicusError, ficusError } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import type { RandomSource } from '../../util/clock.js';
import { systemRandom } from '../../util/clock.js';
import { backoffDelay, DEFAULT_RETRY } from '../../util/retry.js';
import type { RetryPolicy } from '../../util/retry.js';
import type { ChangeEvent, DebeziumValue, Row } from '../event/change-event.js';
import { decodeJson, encodeJson } from '../event/event-codec.js';
import { RunningConsumers } from './running-consumers.js';
import type { BatchHandler, ConsumeOptions, Consumer, Transport } from './transport.js';

/**
 * Kafka transport (kafkajs). A Kafka topic per ficus topic; message key = Debezium key JSON and
 * value = Debezium value JSON (null = tombstone, which is what log compaction expects), so existing
 * Debezium consumers read them unchanged; ficus's position and routing travel as headers
 * `ficus.lsn`, `ficus.seq`, `ficus.schema`, `ficus.table`.
 *
 * Producer: idempotent (the broker drops retried duplicates), acks = -1 (all in-sync replicas),
 * one request in flight (so a retry cannot reorder a partition). Same key → same partition → per-key
 * order. `publish` resolves only when Kafka acked every message; the source acks the slot after.
 * Not transactional on purpose: at-least-once plus the sinks' LSN guard already gives effectively-
 * once rows, and a transactional producer would only add a coordinator round trip per batch.
 *
 * Consumer: one group per sink; autoCommit off and no auto-resolve. For each fetched batch the
 * handler runs (retried with backoff, with heartbeats, while the consumer still owns the partition);
 * only after it resolved are the offsets resolved and committed. A consumer that stops or loses the
 * partition in a rebalance leaves the offsets uncommitted, so the next owner gets the events again.
 *
 * Caveat: truncate events have no key (as in Debezium), so they land on any partition; with more
 * than one partition per topic a truncate is not ordered against row events in other partitions.
 * Give topics of tables that get truncated one partition (ficus creates missing topics with the
 * broker's default partition count).
 */
export interface KafkaTransportOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly retry?: RetryPolicy;
  readonly logger?: Logger;
  readonly random?: RandomSource;
  /** Broker connection timeout (ms); default 3000. */
  readonly connectionTimeoutMs?: number;
}

const H_LSN = 'ficus.lsn';
const H_SEQ = 'ficus.seq';
const H_SCHEMA = 'ficus.schema';
const H_TABLE = 'ficus.table';

export function encodeKafkaMessage(e: ChangeEvent): Message {
  return {
    key: encodeJson(e.key),
    value: e.value === null ? null : encodeJson(e.value),
    headers: { [H_LSN]: e.position.lsn, [H_SEQ]: String(e.position.seq), [H_SCHEMA]: e.schema, [H_TABLE]: e.table },
  };
}

/**
 * Bytes of messages per produce request. A broker refuses a record batch above its
 * `message.max.bytes` (1 MiB by default) with MESSAGE_TOO_LARGE, which the idempotent producer
 * would retry forever; a snapshot batch (20 000 rows) is several MiB. Half the default leaves room
 * for the record and batch overhead this estimate leaves out.
 */
export const MAX_REQUEST_BYTES = 512 * 1024;

/**
 * `events` as consecutive produce requests (topic → messages, in event order) of at most `maxBytes`
 * of keys, values and headers each; an event bigger than that alone goes in a request of its own.
 */
export function produceRequests(events: readonly ChangeEvent[], maxBytes: number): TopicMessages[][] {
  const requests: TopicMessages[][] = [];
  let byTopic = new Map<string, Message[]>();
  let bytes = 0;
  for (const e of events) {
    const m = encodeKafkaMessage(e);
    const size = messageBytes(m);
    if (bytes > 0 && bytes + size > maxBytes) {
      requests.push(toTopicMessages(byTopic));
      byTopic = new Map();
      bytes = 0;
    }
    let list = byTopic.get(e.topic);
    if (!list) byTopic.set(e.topic, (list = []));
    list.push(m);
    bytes += size;
  }
  if (bytes > 0) requests.push(toTopicMessages(byTopic));
  return requests;
}

function toTopicMessages(byTopic: Map<string, Message[]>): TopicMessages[] {
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

function messageBytes(m: Message): number {
  let n = Buffer.byteLength(m.key as string) + (typeof m.value === 'string' ? Buffer.byteLength(m.value) : 0);
  for (const [k, v] of Object.entries(m.headers ?? {})) n += k.length + String(v).length;
  return n;
}

function header(headers: IHeaders | undefined, name: string): string | null {
  const v = headers?.[name];
  if (v === undefined) return null;
  const one = Array.isArray(v) ? v[0] : v;
  return one === undefined ? null : one.toString();
}

export function decodeKafkaMessage(topic: string, m: Pick<KafkaMessage, 'key' | 'value' | 'headers'>): ChangeEvent {
  return {
    topic,
    schema: header(m.headers, H_SCHEMA) ?? '',
    table: header(m.headers, H_TABLE) ?? '',
    key: m.key === null ? null : (decodeJson(m.key.toString()) as Row | null),
    value: m.value === null ? null : (decodeJson(m.value.toString()) as DebeziumValue),
    position: { lsn: header(m.headers, H_LSN) ?? '0/0', seq: Number(header(m.headers, H_SEQ) ?? 0) },
  };
}

/** kafkajs logs through ficus's logger (pino) instead of its own console output. */
function logCreator(logger: Logger | undefined) {
  return () => (entry: LogEntry) => {
    if (!logger) return;
    const { message, ...extra } = entry.log;
    const fields = { component: 'kafkajs', namespace: entry.namespace, ...extra };
    if (entry.level === logLevel.ERROR) logger.error(fields, message);
    else if (entry.level === logLevel.WARN) logger.warn(fields, message);
    else logger.debug(fields, message);
  };
}

export async function createKafkaTransport(options: KafkaTransportOptions): Promise<KafkaTransport> {
  if (options.brokers.length === 0) throw ficusError('FICUS_ERR_CDC_TRANSPORT_CONFIG', 'kafka', 'no brokers given');
  const kafka = new Kafka({
    clientId: options.clientId,
    brokers: [...options.brokers],
    connectionTimeout: options.connectionTimeoutMs ?? 3000,
    // Connecting and metadata follow ficus's retry policy; the idempotent producer keeps unlimited
    // send retries (limiting them would void its no-duplicate guarantee).
    ...(options.retry ? { retry: { retries: options.retry.retries, initialRetryTime: options.retry.initialMs, maxRetryTime: options.retry.maxMs, multiplier: options.retry.factor } } : {}),
    logLevel: logLevel.WARN,
    logCreator: logCreator(options.logger),
  });
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: true,
    // Explicit, so a short client retry policy is not inherited: kafkajs refuses an idempotent
    // producer with limited retries. While the brokers are down, publish waits (backpressure).
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: options.retry?.initialMs ?? 300, maxRetryTime: options.retry?.maxMs ?? 30_000 },
  });
  const admin = kafka.admin();
  try {
    await producer.connect();
    await admin.connect();
  } catch (err) {
    await producer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
    throw new FicusError('FICUS_ERR_CDC_TRANSPORT', ['kafka', `cannot connect to ${options.brokers.join(',')}: ${(err as Error).message}`], { cause: err });
  }
  return new KafkaTransport(kafka, producer, admin, options);
}

export class KafkaTransport implements Transport {
  readonly kind = 'kafka' as const;
  private readonly consumers = new RunningConsumers<KafkaGroupConsumer>();
  private readonly policy: RetryPolicy;
  private closed = false;

  constructor(private readonly kafka: Kafka, private readonly producer: Producer, readonly admin: Admin, private readonly options: KafkaTransportOptions) {
    this.policy = options.retry ?? DEFAULT_RETRY;
  }

  async publish(events: readonly ChangeEvent[]): Promise<void> {
    if (this.closed) throw ficusError('FICUS_ERR_CDC_TRANSPORT', 'kafka', 'publish after close');
    if (events.length === 0) return;
    // Requests of at most MAX_REQUEST_BYTES, sent one after the other (one in flight, so a
    // partition's order holds across them); inside each, messages grouped by topic in order. The
    // idempotent producer retries internally (kafkajs retries it without limit by default).
    try {
      for (const topicMessages of produceRequests(events, MAX_REQUEST_BYTES)) await this.producer.sendBatch({ acks: -1, topicMessages });
    } catch (err) {
      throw new FicusError('FICUS_ERR_CDC_TRANSPORT', ['kafka', (err as Error).message], { cause: err });
    }
  }

  /** Creates missing topics (a consumer cannot subscribe to a topic that does not exist yet). */
  private async ensureTopics(topics: readonly string[]): Promise<void> {
    const existing = new Set(await this.admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t));
    if (missing.length > 0) await this.admin.createTopics({ topics: missing.map((topic) => ({ topic })), waitForLeaders: true });
  }

  async consume(group: string, topics: readonly string[], handler: BatchHandler, options: ConsumeOptions = {}): Promise<Consumer> {
    if (this.closed) throw ficusError('FICUS_ERR_CDC_TRANSPORT', 'kafka', 'consume after close');
    if (topics.length === 0) throw ficusError('FICUS_ERR_CDC_TRANSPORT_CONFIG', 'kafka', `consumer group ${group} has no topics`);
    await this.ensureTopics(topics);
    const consumer = new KafkaGroupConsumer(this.kafka.consumer({ groupId: group }), [...topics], handler, {
      maxBatch: options.maxBatch ?? 1000,
      policy: this.policy,
      random: this.options.random ?? systemRandom,
      ...(this.options.logger ? { logger: this.options.logger } : {}),
    });
    await consumer.start();
    return this.consumers.add(consumer);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.consumers.stopAll();
    await this.producer.disconnect().catch(() => {});
    await this.admin.disconnect().catch(() => {});
  }
}

export interface GroupSettings {
  readonly maxBatch: number;
  readonly policy: RetryPolicy;
  readonly random: RandomSource;
  readonly logger?: Logger;
}

/** Exported for tests: the ack logic runs against a stand-in for kafkajs's consumer. */
export class KafkaGroupConsumer {
  private stopping = false;
  private wake: (() => void) | null = null;

  constructor(private readonly consumer: KafkaConsumer, private readonly topics: readonly string[], private readonly handler: BatchHandler, private readonly s: GroupSettings) {}

  async start(): Promise<void> {
    await this.consumer.connect();
    // fromBeginning: a new group (a new sink) starts at the oldest retained message; a known group
    // resumes at its committed offsets.
    await this.consumer.subscribe({ topics: [...this.topics], fromBeginning: true });
    await this.consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: (p) => this.eachBatch(p) });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.consumer.stop().catch(() => {});
    await this.consumer.disconnect().catch(() => {});
  }

  private async eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const owns = () => !this.stopping && isRunning() && !isStale();
    for (let i = 0; i < batch.messages.length; i += this.s.maxBatch) {
      const chunk = batch.messages.slice(i, i + this.s.maxBatch);
      const events = chunk.map((m) => decodeKafkaMessage(batch.topic, m));
      // 1. The handler (the sink transaction), retried while this consumer owns the partition.
      for (let attempt = 0; ; attempt++) {
        if (!owns()) return; // not acked: the partition's next owner (or our restart) gets them again
        try {
          await this.handler(events);
          break;
        } catch (err) {
          this.s.logger?.warn({ topic: batch.topic, partition: batch.partition, attempt, err: (err as Error).message }, 'kafka handler failed; retrying');
          if (!owns()) return;
          await this.sleep(backoffDelay(this.s.policy, Math.min(attempt, 16), this.s.random));
          await heartbeat().catch(() => {});
        }
      }
      // 2. Only now: resolve and commit (the committed offset is the next one to read).
      const last = chunk[chunk.length - 1].offset;
      resolveOffset(last);
      await this.consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() }]);
      await heartbeat();
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
