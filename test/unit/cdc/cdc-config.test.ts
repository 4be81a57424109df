import { describe, expect, it } from 'vitest';
import { formatProblems } from '../../../src/config/problems.js';
import { cdcConfigJsonSchema } from '../../../src/cdc/config/cdc-config-schema.js';
import { parseCdcConfig } from '../../../src/cdc/config/load-cdc-config.js';

const EXAMPLE = `source:
  url: postgres://postgres@127.0.0.1:5432/legacy
  slot: ficus_users              # created if missing; never dropped unless asked
  publication: ficus_users       # created if missing, for the tables below
  tables: [public.users, public.orders]
topicPrefix: legacy              # events go to <topicPrefix>.<schema>.<table>
transport: { kind: direct }      # direct | redis { url, maxLen } | kafka { brokers, clientId }
sinks:
  - name: users-service
    url: postgres://postgres@127.0.0.1:5432/users_service
    tables:
      - from: public.users
        to: users
        columns: { id: id, email: email_address, created_at: created_at }   # select + rename
`;

describe('CDC config file', () => {
  it('loads the issue example as written and compiles it with defaults', () => {
    const r = parseCdcConfig(EXAMPLE, 'cdc.yaml');
    if (!r.ok) throw new Error(formatProblems(r.problems));
    const m = r.model;
    expect(m.source.tables).toEqual([{ schema: 'public', table: 'users' }, { schema: 'public', table: 'orders' }]);
    expect(m.source).toMatchObject({ slot: 'ficus_users', publication: 'ficus_users', snapshot: 'initial', heartbeatMs: 10_000, tombstones: true });
    expect(m.transport).toEqual({ kind: 'direct' });
    expect(m.sinks[0].tables[0]).toMatchObject({
      from: { schema: 'public', table: 'users' },
      to: { schema: 'public', table: 'users' },
      columns: [{ from: 'id', to: 'id' }, { from: 'email', to: 'email_address' }, { from: 'created_at', to: 'created_at' }],
    });
    expect(Object.isFrozen(m.sinks[0].tables)).toBe(true);
  });

  it('reports every mistake with file:line:col, including cross-field ones', () => {
    const text = EXAMPLE
      .replace('transport: { kind: direct }', 'transport: { kind: redis, brokers: [a:1] }')
      .replace('from: public.users', 'from: public.userz')
      .replace('topicPrefix: legacy', 'topicPrefix: legacy\nsnapshot: initial');
    const r = parseCdcConfig(text, 'cdc.yaml');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const out = formatProblems(r.problems);
    expect(out).toContain('cdc.yaml:7:1: unknown key "snapshot" in the file');
    expect(out).toMatch(/cdc\.yaml:8:\d+: "transport.brokers" does not apply to transport kind "redis"/);
    expect(out).toMatch(/cdc\.yaml:8:\d+: transport kind "redis" needs "url"/);
    expect(out).toMatch(/cdc\.yaml:13:\d+: "public.userz" is not one of the captured tables/);
  });

  it('rejects a bad transport kind and a bad duration with did-you-mean and a location', () => {
    const text = EXAMPLE.replace('kind: direct', 'kind: kafak').replace('  tables: [public.users, public.orders]', '  tables: [public.users, public.orders]\n  heartbeat: soon');
    const r = parseCdcConfig(text, 'f.yaml');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const out = formatProblems(r.problems);
    expect(out).toMatch(/f\.yaml:6:14: "source.heartbeat" must be a duration/);
    expect(out).toMatch(/f\.yaml:8:\d+: "transport.kind" must be one of direct, redis, kafka, got "kafak" \(did you mean "kafka"\?\)/);
  });

  it('publishes a JSON Schema that describes the same keys', () => {
    const js = cdcConfigJsonSchema() as { properties: Record<string, { properties?: Record<string, unknown> }>; required: string[] };
    expect(js.required).toEqual(['source', 'topicPrefix', 'transport', 'sinks']);
    expect(Object.keys(js.properties.source.properties ?? {})).toEqual(expect.arrayContaining(['url', 'slot', 'publication', 'tables', 'snapshot', 'heartbeat']));
    expect(js.properties.transport.properties?.kind).toMatchObject({ enum: ['direct', 'redis', 'kafka'] });
    expect(JSON.parse(JSON.stringify(js))).toEqual(js);
  });
});
