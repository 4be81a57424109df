import { DirectTransport } from '../../../src/cdc/transport/direct-transport.js';
import { transportContract } from './transport-contract.js';

transportContract('direct', {
  create: async () => new DirectTransport({ retry: { retries: 2, initialMs: 1, maxMs: 5, factor: 2 } }),
  redelivery: 'publisher',
  cleanup: async () => {},
  waitMs: 2000,
});
