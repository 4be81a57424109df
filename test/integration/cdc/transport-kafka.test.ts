import { describe } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { createKafkaTransport } from '../../../src/cdc/transport/kafka-transport.js';
import { transportContract } from './transport-contract.js';

// No Kafka broker can run on the CI machine, so this suite runs only when KAFKA_BROKERS names one
// (e.g. `KAFKA_BROKERS=127.0.0.1:9092 npm test`); otherwise it is skipped and says why.
const brokers = (process.env.KAFKA_BROKERS ?? '').split(',').map((b) => b.trim()).filter((b) => b.length > 0);
if (brokers.length === 0) console.warn('transport contract: kafka skipped: set KAFKA_BROKERS=host:9092 to run it against a real broker');

describe.skipIf(brokers.length === 0)('kafka (KAFKA_BROKERS)', () => {
  transportContract('kafka', {
    create: () => createKafkaTransport({ brokers, clientId: 'ficus-test', retry: { retries: 5, initialMs: 20, maxMs: 500, factor: 2 } }),
    redelivery: 'broker',
    waitMs: 60_000,
    cleanup: async (topics) => {
      if (topics.length === 0) return;
      const admin = new Kafka({ clientId: 'ficus-test-cleanup', brokers, logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      await admin.deleteTopics({ topics: [...topics] }).catch(() => {});
      await admin.disconnect();
    },
  });
});
