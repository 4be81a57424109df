import type { Schema } from '../../config/schema.js';
import { s, toJsonSchema } from '../../config/schema.js';

/**
 * The CDC config file (YAML), as the user writes it. One description validates the file (every
 * problem located) and is published as JSON Schema (`cdcConfigJsonSchema()`) for editors.
 */
const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$/;
const tableName = (description: string): Schema =>
  s.string({ description, pattern: TABLE_NAME, patternHint: 'a table name like public.users or users' });

const retrySchema = s.object(
  {
    retries: s.number({ integer: true, min: 0, max: 100, description: 'attempts after the first before the event is parked as a dead letter (default 5)' }),
    initial: s.duration({ description: 'first backoff delay (default 100ms)' }),
    max: s.duration({ description: 'largest backoff delay (default 10s)' }),
  },
  { description: 'retry with exponential backoff and jitter' },
);

export const cdcConfigSchema: Schema = s.object(
  {
    source: s.object(
      {
        url: s.string({ description: 'postgres:// URL of the monolith database (needs wal_level=logical and the REPLICATION privilege)', pattern: /^postgres(ql)?:\/\//, patternHint: 'a postgres:// URL' }),
        slot: s.string({ description: 'logical replication slot; created if missing, never dropped unless asked', pattern: /^[a-z0-9_]{1,63}$/, patternHint: 'a slot name of lower-case letters, digits and _' }),
        publication: s.string({ description: 'publication; created if missing, for the tables below', pattern: /^[A-Za-z_][A-Za-z0-9_]{0,62}$/, patternHint: 'an identifier' }),
        tables: s.array(tableName('a captured table'), { minItems: 1, description: 'tables to capture, schema-qualified (public. is the default)' }),
        snapshot: s.string({ enum: ['initial', 'never', 'always'], description: 'initial (default): snapshot when the slot is created; never; always: on every start' }),
        heartbeat: s.duration({ description: 'interval of heartbeat messages that let the slot advance when the tables are quiet (default 10s; 0 disables)' }),
        tombstones: s.boolean({ description: 'emit a tombstone (null value) after each delete (default true)' }),
        batchSize: s.number({ integer: true, min: 1, max: 100_000, description: 'largest number of events handed to the transport at once (default 2000)' }),
        snapshotBatchSize: s.number({ integer: true, min: 1, max: 100_000, description: 'largest number of snapshot rows handed to the transport at once (default 20000)' }),
        snapshotBatchBytes: s.number({ integer: true, min: 1, max: 1_073_741_824, description: 'a snapshot batch also ends once its rows hold this many bytes of COPY text (default 8388608, 8 MiB)' }),
      },
      { required: ['url', 'slot', 'publication', 'tables'], description: 'the monolith database whose WAL is read' },
    ),
    topicPrefix: s.string({ description: 'events go to <topicPrefix>.<schema>.<table>; also Debezium\'s source.name', pattern: /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, patternHint: 'letters, digits, _, . or -' }),
    transport: s.object(
      {
        kind: s.string({ enum: ['direct', 'redis', 'kafka'], description: 'direct (in-process), redis (Redis Streams) or kafka' }),
        url: s.string({ description: 'redis: redis:// URL', pattern: /^rediss?:\/\//, patternHint: 'a redis:// URL' }),
        maxLen: s.number({ integer: true, min: 1, description: 'redis: approximate MAXLEN of each stream' }),
        brokers: s.array(s.string({ description: 'host:port' }), { minItems: 1, description: 'kafka: bootstrap brokers' }),
        clientId: s.string({ description: 'kafka: client id' }),
      },
      { required: ['kind'], description: 'how events travel from the source to the sinks' },
    ),
    sinks: s.array(
      s.object(
        {
          name: s.string({ description: 'sink name (used for its consumer group, position and status)', pattern: /^[A-Za-z0-9_-]+$/, patternHint: 'letters, digits, _ or -' }),
          url: s.string({ description: 'postgres:// URL of the service\'s own database', pattern: /^postgres(ql)?:\/\//, patternHint: 'a postgres:// URL' }),
          tables: s.array(
            s.object(
              {
                from: tableName('captured source table'),
                to: tableName('table in the sink database'),
                columns: s.map(s.string({ description: 'sink column name' }), { description: 'source column: sink column; selects and renames (default: every column, same names)' }),
              },
              { required: ['from', 'to'] },
            ),
            { minItems: 1 },
          ),
          retry: retrySchema,
        },
        { required: ['name', 'url', 'tables'] },
      ),
      { minItems: 1, description: 'per-service databases that receive the changes' },
    ),
  },
  { required: ['source', 'topicPrefix', 'transport', 'sinks'], description: 'ficus change data capture configuration' },
);

/** The published JSON Schema of the CDC config file (draft 2020-12). */
export function cdcConfigJsonSchema(): Record<string, unknown> {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://ficus.dev/schemas/cdc-config.json',
    title: 'ficus CDC config',
    ...toJsonSchema(cdcConfigSchema),
  };
}
