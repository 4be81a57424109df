import type { Logger } from '../../observability/logger.js';
import type { Registry } from '../../observability/metrics.js';
import { Counter } from '../../observability/metrics.js';
import type { RandomSource } from '../../util/clock.js';
import type { RetryPolicy } from '../../util/retry.js';
import type { TransportModel } from '../config/cdc-model.js';
import { DirectTransport } from './direct-transport.js';
import { createKafkaTransport } from './kafka-transport.js';
import { createRedisTransport } from './redis-stream-transport.js';
import type { Transport } from './transport.js';

export interface TransportDeps {
  readonly logger?: Logger;
  readonly retry?: RetryPolicy;
  readonly random?: RandomSource;
  /** Where `ficus_cdc_transport_*` metrics go; none when absent. */
  readonly registry?: Registry;
}

/** Chooses the transport by the config's `kind` and connects it. */
export async function createTransport(model: TransportModel, deps: TransportDeps = {}): Promise<Transport> {
  const transport = await connect(model, deps);
  return deps.registry ? withMetrics(transport, deps.registry) : transport;
}

async function connect(model: TransportModel, deps: TransportDeps): Promise<Transport> {
  const common = {
    ...(deps.logger ? { logger: deps.logger.child({ component: 'cdc-transport', transport: model.kind }) } : {}),
    ...(deps.retry ? { retry: deps.retry } : {}),
    ...(deps.random ? { random: deps.random } : {}),
  };
  switch (model.kind) {
    case 'direct':
      return new DirectTransport(common);
    case 'redis':
      return createRedisTransport({ url: model.url, maxLen: model.maxLen, ...common });
    case 'kafka':
      return createKafkaTransport({ brokers: model.brokers, clientId: model.clientId, ...common });
  }
}

/** Counts events published and delivered (acked by a handler), per transport and consumer group. */
export function withMetrics(inner: Transport, registry: Registry): Transport {
  const counter = (name: string, help: string, labelNames: string[]) =>
    (registry.getSingleMetric(name) as Counter<string> | undefined) ?? new Counter({ name, help, labelNames, registers: [registry] });
  const published = counter('ficus_cdc_transport_published_events_total', 'Change events handed to the transport and acknowledged by it', ['transport']);
  const delivered = counter('ficus_cdc_transport_delivered_events_total', 'Change events a consumer group handled successfully', ['transport', 'group']);
  return {
    kind: inner.kind,
    publish: async (events) => {
      await inner.publish(events);
      published.inc({ transport: inner.kind }, events.length);
    },
    consume: (group, topics, handler, options) =>
      inner.consume(group, topics, async (events) => {
        await handler(events);
        delivered.inc({ transport: inner.kind, group }, events.length);
      }, options),
    close: () => inner.close(),
  };
}
