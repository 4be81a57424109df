import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkAgainstDatabases } from '../../../src/cdc/config/check-databases.js';
import { parseCdcConfig } from '../../../src/cdc/config/load-cdc-config.js';
import type { ChangeEvent } from '../../../src/cdc/event/change-event.js';
import { decodeEvent, encodeEvent } from '../../../src/cdc/event/event-codec.js';
import { CdcPipeline } from '../../../src/cdc/pipeline.js';
import { formatProblems } from '../../../src/config/problems.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { createRegistry } from '../../../src/observability/metrics.js';
import type { EmbeddedPg } from '../../../src/util/embedded-postgres.js';
import { startEmbeddedPostgres } from '../../../src/util/embedded-postgres.js';
import { createDatabase, waitFor, withClient } from '../../helpers/cdc-fixtures.js';

/**
 * Snapshot rows reach the sink two ways: as the source's COPY text (target columns of the same
 * built-in types) or decoded to Debezium values and encoded again (any other column). Both must
 * leave the sink with exactly the source's values, and the events must be the same Debezium events
 * either way.
 */
let pgs: EmbeddedPg;
beforeAll(async () => { pgs = await startEmbeddedPostgres(); });
afterAll(async () => { await pgs?.stop(); });

const COLUMNS = `id bigint primary key, n numeric, note text, raw bytea, at timestamptz, local timestamp, day date,
  doc jsonb, uid uuid, tags text[], nums int[], f float8, ok boolean, small int`;

/** Values chosen for their text forms: escapes, NULLs, -0, extremes, multi-byte and quoted array items. */
const ROWS = `insert into items values
  (1, 12345678901234567890.0123456789, E'tab\\there\\nnew line \\\\ back', '\\x00ff5c0a09', '2024-05-06 07:08:09.654321+02', '1999-12-31 23:59:59.999999',
   '2000-02-29', '{"a": [1, {"b": null}], "s": "x\\ty"}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
   ARRAY[E'a,b', 'c"d', NULL, 'grüße', E'x\\\\y'], '{1,NULL,-3}', -0.1, true, 7),
  (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (3, -0.000001, '', '\\x', 'infinity', '-infinity', '4713-01-01 BC', '[]', '00000000-0000-0000-0000-000000000000', '{}', '{}', 1e308, false, -32768)`;

/** Types whose text depends on the session (interval, money): always decoded, even into the same types. */
const EXTRAS = "create table extras (id int primary key, span interval, cash money)";
const EXTRA_ROWS = "insert into extras values (1, '-1 year +2 days -03:04:05.6', '12.34'), (2, NULL, NULL), (3, '0', '-1')";

const ALL = ['id', 'n', 'note', 'raw', 'at', 'local', 'day', 'doc', 'uid', 'tags', 'nums', 'f', 'ok', 'small'];
const asText = (cols: readonly string[], table: string) => `select ${cols.map((c) => `${c}::text as ${c}`).join(', ')} from ${table} order by id`;

describe('snapshot rows as COPY text and as decoded values', () => {
  let pipeline: CdcPipeline;
  const seen: ChangeEvent[] = [];
  const src = 'copytext_src';
  const dst = 'copytext_dst';

  beforeAll(async () => {
    await createDatabase(pgs.url(), src);
    await createDatabase(pgs.url(), dst);
    await withClient(pgs.url(src), async (c) => {
      await c.query(`create table items (${COLUMNS})`);
      await c.query(ROWS);
      await c.query(EXTRAS);
      await c.query(EXTRA_ROWS);
    });
    await withClient(pgs.url(dst), async (c) => {
      // same: every column has the source's type, in the source's order
      await c.query(`create table same (${COLUMNS})`);
      // picked: a subset, reordered and renamed, same types
      await c.query('create table picked (doc jsonb, label text, id bigint primary key, at timestamptz, tags text[])');
      // converted: other types (text, int8) for some columns, so its rows are decoded
      await c.query('create table converted (id bigint primary key, n text, small bigint, at timestamptz, raw bytea)');
      await c.query(EXTRAS);
    });
    const loaded = parseCdcConfig(`source: { url: "${pgs.url(src)}", slot: copytext, publication: copytext, tables: [items, extras], heartbeat: 100ms }
topicPrefix: p
transport: { kind: direct }
sinks:
  - { name: same, url: "${pgs.url(dst)}", tables: [{ from: items, to: same }, { from: extras, to: extras }] }
  - { name: picked, url: "${pgs.url(dst)}", tables: [{ from: items, to: picked, columns: { tags: tags, at: at, id: id, note: label, doc: doc } }] }
  - { name: converted, url: "${pgs.url(dst)}", tables: [{ from: items, to: converted, columns: { id: id, n: n, small: small, at: at, raw: raw } }] }
`, 'copytext.yaml');
    if (!loaded.ok) throw new Error(formatProblems(loaded.problems));
    const checked = await checkAgainstDatabases(loaded.model, loaded.locate);
    if (!checked.ok) throw new Error(formatProblems(checked.problems));
    pipeline = new CdcPipeline(checked.model, checked.catalog, { logger: silentLogger(), registry: createRegistry(), onDelivered: (evs) => seen.push(...evs) });
    await pipeline.start();
    await waitFor(async () => (await pipeline.status()).source.phase === 'streaming', 'streaming');
  });
  afterAll(async () => {
    await pipeline?.stop();
  });

  const rows = (url: string, sql: string) => withClient(url, async (c) => {
    await c.query("set timezone = 'UTC'");
    return (await c.query(sql)).rows;
  });

  it('copies every type exactly, whole rows or picked columns, as text or decoded', async () => {
    const source = await rows(pgs.url(src), asText(ALL, 'items'));
    expect(await rows(pgs.url(dst), asText(ALL, 'same'))).toEqual(source);
    const picked = await rows(pgs.url(dst), 'select id::text as id, label as note, at::text as at, tags::text as tags, doc::text as doc from picked order by id');
    expect(picked).toEqual(source.map((r) => ({ id: r.id, note: r.note, at: r.at, tags: r.tags, doc: r.doc })));
    const converted = await rows(pgs.url(dst), asText(['id', 'n', 'small', 'at', 'raw'], 'converted'));
    expect(converted).toEqual(source.map((r) => ({ id: r.id, n: r.n, small: r.small, at: r.at, raw: r.raw })));
    // Debezium's MicroDuration counts a month as 365.25 / 12 days, as extract(epoch ...) does
    const extras = 'select id, extract(epoch from span)::text as span, cash::text as cash from extras order by id';
    expect(await rows(pgs.url(dst), extras)).toEqual(await rows(pgs.url(src), extras));
  });

  it('hands on the same Debezium events whether or not their values were read', async () => {
    const snap = seen.filter((e) => e.value?.op === 'r' && e.topic === 'p.public.items');
    expect(snap).toHaveLength(3);
    expect(seen.filter((e) => e.value?.source.snapshot === 'last')).toHaveLength(1);
    for (const e of snap) expect(decodeEvent(encodeEvent(e))).toMatchObject({ key: { id: e.key?.id } });
    const first = snap[0];
    expect(first.key).toEqual({ id: 1 });
    expect(first.value?.source.snapshot).toBe('first');
    expect(seen.filter((e) => e.value?.op === 'r').at(-1)?.value?.source.snapshot).toBe('last');
    expect(first.value?.after).toMatchObject({
      id: 1, n: '12345678901234567890.0123456789', note: 'tab\there\nnew line \\ back', raw: 'AP9cCgk=', at: '2024-05-06T05:08:09.654321Z',
      day: 11016, doc: '{"a": [1, {"b": null}], "s": "x\\ty"}', tags: ['a,b', 'c"d', null, 'grüße', 'x\\y'], nums: [1, null, -3], f: -0.1, ok: true, small: 7,
    });
    // what a broker would carry: the whole envelope, in Debezium's field order
    const wire = JSON.parse(encodeEvent(snap[1])) as Record<string, unknown>;
    expect(Object.keys(wire)).toEqual(['topic', 'schema', 'table', 'key', 'value', 'position']);
    expect(Object.keys(wire.value as object)).toEqual(['before', 'after', 'source', 'op', 'ts_ms']);
    expect(decodeEvent(encodeEvent(first))).toEqual({
      topic: first.topic, schema: 'public', table: 'items', key: first.key, position: first.position,
      value: { before: null, after: first.value?.after, source: first.value?.source, op: 'r', ts_ms: first.value?.ts_ms },
    });
  });
});
