export { createLegacyMonolith, startLegacyMonolith, LEGACY_SERVICE_NAME } from './app.js';
export type { LegacyMonolithOptions, StartOptions } from './app.js';
export type { ExampleApp, RunningServer } from '../shared/http-server.js';
export { ensureLegacySchema, LEGACY_SCHEMA_SQL } from './schema.js';
export { generateLegacySeed, seedLegacy, seededRandom, randomUuid, ORDER_STATUSES } from './seed.js';
export type { OrderStatus, RandomSource, SeedData, SeedOptions, SeedOrder, SeedResult, SeedUser } from './seed.js';
