import { Redis } from 'ioredis';
import { FicusError, ficusError } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import type { RandomSource } from '../../util/clock.js';
import { systemRandom } from '../../util/clock.js';
import { backoffDelay, DEFAULT_RETRY, retry } from '../../util/retry.js';
import type { RetryPolicy } from '../../util/retry.js';
import type { ChangeEvent, DebeziumValue, Row } from '../event/change-event.js';
import { decodeJson, encodeJson } from '../event/event-codec.js';
import { RunningConsumers } from './running-consumers.js';
import type { BatchHandler, ConsumeOptions, Consumer, Transport } from './transport.js';

/**
 * Redis Streams transport: one stream per topic (`<topicPrefix>.<schema>.<table>`), one consumer
 * group per sink. An entry's fields are Debezium's JSON `key` and `value` (no `value` field = a
 * tombstone) plus ficus's `schema`, `table`, `lsn` (commit LSN) and `seq`, so a sink can guard.
 *
 * Acknowledgement rules (see transport.ts):
 * - publish resolves once Redis accepted every XADD (durability is then Redis's: AOF/replicas);
 * - XACK only after the handler (the sink transaction) resolved.
 * Recovery after a crash, in order, so per-key order holds:
 * 1. XAUTOCLAIM moves entries that another consumer of the group left pending (idle for at least
 *    `claimIdleMs`) to this consumer;
 * 2. this consumer's own pending entries are read again (XREADGROUP ... 0) and handled first;
 * 3. only then new entries (XREADGROUP ... >).
 * A restarted process uses the same stable consumer name, so step 2 alone finds what it left.
 *
 * MAXLEN trims approximately (`~`), and Redis trims regardless of pending entries: maxLen must
 * exceed the largest backlog a sink may fall behind by, or trimmed entries are lost (logged).
 */
export interface RedisTransportOptions {
  readonly url: string;
  readonly maxLen: number | null;
  /** How long one XREADGROUP waits for new entries (also bounds how late `stop` interrupts). */
  readonly blockMs?: number;
  /** Entries pending longer than this under another consumer are claimed (XAUTOCLAIM). */
  readonly claimIdleMs?: number;
  readonly retry?: RetryPolicy;
  readonly logger?: Logger;
  readonly random?: RandomSource;
}

type XReadReply = Array<[stream: string, entries: Array<[id: string, fields: string[] | null]>]> | null;

export async function createRedisTransport(options: RedisTransportOptions): Promise<RedisStreamTransport> {
  let parsed: URL;
  try {
    parsed = new URL(options.url);
  } catch {
    throw ficusError('FICUS_ERR_CDC_TRANSPORT_CONFIG', 'redis', `url "${options.url}" is not a URL`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw ficusError('FICUS_ERR_CDC_TRANSPORT_CONFIG', 'redis', `url "${options.url}" must start with redis:// or rediss://`);
  }
  // RESP2 on purpose: ioredis 6 speaks RESP3 by default, where XREADGROUP's reply is a map that
  // arrives flattened; RESP2's [[stream, entries], ...] is the shape Redis documents.
  const redis = new Redis(options.url, { lazyConnect: true, maxRetriesPerRequest: 3, protocol: 2 });
  redis.on('error', (err: Error) => options.logger?.warn({ err: err.message }, 'redis transport connection error'));
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw new FicusError('FICUS_ERR_CDC_TRANSPORT', ['redis', `cannot connect to ${parsed.host}: ${(err as Error).message}`], { cause: err });
  }
  return new RedisStreamTransport(redis, options);
}

export function encodeEntry(e: ChangeEvent): string[] {
  const fields = ['key', encodeJson(e.key), 'schema', e.schema, 'table', e.table, 'lsn', e.position.lsn, 'seq', String(e.position.seq)];
  if (e.value !== null) fields.push('value', encodeJson(e.value));
  return fields;
}

export function decodeEntry(topic: string, fields: readonly string[]): ChangeEvent {
  const f = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i], fields[i + 1]);
  const value = f.get('value');
  return {
    topic,
    schema: f.get('schema') ?? '',
    table: f.get('table') ?? '',
    key: decodeJson(f.get('key') ?? 'null') as Row | null,
    value: value === undefined ? null : (decodeJson(value) as DebeziumValue),
    position: { lsn: f.get('lsn') ?? '0/0', seq: Number(f.get('seq') ?? 0) },
  };
}

export class RedisStreamTransport implements Transport {
  readonly kind = 'redis' as const;
  private readonly consumers = new RunningConsumers<RedisConsumer>();
  private readonly policy: RetryPolicy;
  private closed = false;

  constructor(private readonly redis: Redis, private readonly options: RedisTransportOptions) {
    this.policy = options.retry ?? DEFAULT_RETRY;
  }

  async publish(events: readonly ChangeEvent[]): Promise<void> {
    if (this.closed) throw ficusError('FICUS_ERR_CDC_TRANSPORT', 'redis', 'publish after close');
    if (events.length === 0) return;
    const trim: Array<string | number> = this.options.maxLen !== null ? ['MAXLEN', '~', this.options.maxLen] : [];
    // One pipeline: commands on one connection run in order, so entries keep the batch's order.
    // A retried pipeline may add some entries twice; the sinks' LSN guard makes that harmless.
    await retry(
      async () => {
        const pipe = this.redis.pipeline();
        for (const e of events) pipe.xadd(e.topic, ...trim, '*', ...encodeEntry(e));
        const results = (await pipe.exec()) ?? [];
        const failed = results.find(([err]) => err);
        if (failed?.[0]) throw failed[0];
        if (results.length !== events.length) throw new Error('pipeline lost commands');
      },
      this.policy,
      {
        isRetriable: () => !this.closed,
        random: this.options.random ?? systemRandom,
        onRetry: (err, attempt) => this.options.logger?.warn({ attempt, err: (err as Error).message }, 'redis publish failed; retrying'),
      },
    ).catch((err: unknown) => {
      throw new FicusError('FICUS_ERR_CDC_TRANSPORT', ['redis', (err as Error).message], { cause: err });
    });
  }

  async consume(group: string, topics: readonly string[], handler: BatchHandler, options: ConsumeOptions = {}): Promise<Consumer> {
    if (this.closed) throw ficusError('FICUS_ERR_CDC_TRANSPORT', 'redis', 'consume after close');
    if (topics.length === 0) throw ficusError('FICUS_ERR_CDC_TRANSPORT_CONFIG', 'redis', `consumer group ${group} has no topics`);
    // Blocking reads get their own connection, so publishing never waits behind a BLOCK.
    const conn = this.redis.duplicate({ maxRetriesPerRequest: 1 });
    conn.on('error', (err: Error) => this.options.logger?.warn({ group, err: err.message }, 'redis consumer connection error'));
    const consumer = new RedisConsumer(conn, this.redis, group, options.consumer ?? `${group}-1`, [...topics], handler, {
      maxBatch: options.maxBatch ?? 1000,
      blockMs: this.options.blockMs ?? 2000,
      claimIdleMs: this.options.claimIdleMs ?? 30_000,
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
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

interface ConsumerSettings {
  readonly maxBatch: number;
  readonly blockMs: number;
  readonly claimIdleMs: number;
  readonly policy: RetryPolicy;
  readonly random: RandomSource;
  readonly logger?: Logger;
}

/** A read batch: the decoded events and, per stream, every id read (trimmed ones too) to ack. */
interface ReadBatch {
  readonly events: ChangeEvent[];
  readonly ids: Map<string, string[]>;
  readonly lost: number;
}

class RedisConsumer {
  private stopped = false;
  private reading = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;

  constructor(
    /** Blocking reads only. */
    private readonly conn: Redis,
    /** Acks, on the transport's shared connection, so they never queue behind a BLOCK. */
    private readonly ackConn: Redis,
    private readonly group: string,
    private readonly name: string,
    private readonly topics: readonly string[],
    private readonly handler: BatchHandler,
    private readonly s: ConsumerSettings,
  ) {}

  async start(): Promise<void> {
    await this.ensureGroups();
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    if (this.stopped) return this.loop ?? undefined;
    this.stopped = true;
    this.wake?.();
    // A blocked XREADGROUP holds the connection for up to blockMs: cut it (nothing is lost, what
    // it delivered stays pending for this consumer). A handler in flight is awaited, with its XACK.
    if (this.reading) this.conn.disconnect();
    await this.loop;
    this.conn.disconnect();
  }

  /** Groups start at 0: a new sink reads everything the stream still holds. */
  private async ensureGroups(): Promise<void> {
    for (const topic of this.topics) {
      try {
        await this.conn.xgroup('CREATE', topic, this.group, '0', 'MKSTREAM');
      } catch (err) {
        if (!String((err as Error).message).includes('BUSYGROUP')) throw new FicusError('FICUS_ERR_CDC_TRANSPORT', ['redis', (err as Error).message], { cause: err });
      }
    }
  }

  /** Step 1 of recovery: take over what dead consumers of this group left pending. */
  private async claimAbandoned(): Promise<void> {
    for (const topic of this.topics) {
      let cursor = '0-0';
      do {
        const reply = (await this.conn.call('XAUTOCLAIM', topic, this.group, this.name, String(this.s.claimIdleMs), cursor, 'COUNT', '500', 'JUSTID')) as [string, string[], string[]?];
        cursor = reply[0];
        if (reply[1].length > 0) this.s.logger?.info({ group: this.group, topic, claimed: reply[1].length }, 'claimed pending entries of another consumer');
        // Redis 7 lists ids that were trimmed away while pending (and drops them): those events are gone.
        const deleted = reply[2] ?? [];
        if (deleted.length > 0) this.s.logger?.error({ group: this.group, topic, lost: deleted.length }, 'pending entries were trimmed by MAXLEN before they were acked; raise maxLen');
      } while (cursor !== '0-0' && !this.stopped);
    }
  }

  /** XREADGROUP and decode: `0` = this consumer's pending entries, `>` = new ones (blocking). */
  private async read(id: '0' | '>'): Promise<ReadBatch> {
    const block = id === '>' ? ['BLOCK', String(this.s.blockMs)] : [];
    this.reading = true;
    let reply: XReadReply;
    try {
      reply = (await this.conn.call('XREADGROUP', 'GROUP', this.group, this.name, 'COUNT', String(this.s.maxBatch), ...block, 'STREAMS', ...this.topics, ...this.topics.map(() => id))) as XReadReply;
    } finally {
      this.reading = false;
    }
    const events: ChangeEvent[] = [];
    const ids = new Map<string, string[]>();
    let lost = 0;
    for (const [stream, entries] of reply ?? []) {
      if (entries.length === 0) continue;
      ids.set(stream, entries.map(([eid]) => eid));
      for (const [, fields] of entries) {
        if (fields === null) lost++;
        else events.push(decodeEntry(stream, fields));
      }
    }
    return { events, ids, lost };
  }

  /**
   * Steps 1 and 2 (recovery) at start and after any failure; step 3 is the steady state, where the
   * next XREADGROUP (and its decoding) overlaps the handler's sink transaction. Read-ahead entries
   * are pending for this consumer like any delivered entry: after a failure or a crash they come
   * back, in order, through step 2.
   */
  private async run(): Promise<void> {
    let recovering = true;
    let failures = 0;
    let ahead: Promise<ReadBatch> | null = null;
    while (!this.stopped) {
      try {
        let batch: ReadBatch;
        if (recovering) {
          await this.claimAbandoned();
          batch = await this.read('0');
        } else {
          batch = await (ahead ?? this.read('>'));
          ahead = null;
        }
        if (this.stopped) break;
        if (batch.ids.size === 0) {
          recovering = false;
          continue;
        }
        if (!recovering) {
          ahead = this.read('>');
          // Marked handled now: it may fail (stop() cuts the connection) before it is awaited.
          ahead.catch(() => {});
        }
        await this.handle(batch);
        failures = 0;
      } catch (err) {
        // Drop the read-ahead (its entries stay pending and are re-read in order by step 2).
        if (ahead) await ahead.catch(() => {});
        ahead = null;
        if (this.stopped) break;
        if (String((err as Error).message).includes('NOGROUP')) await this.ensureGroups().catch(() => {});
        this.s.logger?.warn({ group: this.group, err: (err as Error).message }, 'redis consumer failed; re-reading pending entries after backoff');
        recovering = true;
        await this.sleep(backoffDelay(this.s.policy, Math.min(failures++, 16), this.s.random));
      }
    }
    if (ahead) await ahead.catch(() => {});
  }

  private async handle(batch: ReadBatch): Promise<void> {
    if (batch.lost > 0) this.s.logger?.error({ group: this.group, lost: batch.lost }, 'pending entries were trimmed by MAXLEN before they were acked; raise maxLen');
    if (batch.events.length > 0) await this.handler(batch.events);
    // Only now, with the sink committed: XACK (trimmed ids too, or they stay pending forever).
    const pipe = this.ackConn.pipeline();
    for (const [stream, ids] of batch.ids) pipe.xack(stream, this.group, ...ids);
    const results = (await pipe.exec()) ?? [];
    const failed = results.find(([err]) => err);
    if (failed?.[0]) throw failed[0];
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
