/**
 * Sink throughput alone (no source, direct hand-off): N snapshot rows (op r) into an empty table
 * (the COPY path under the snapshot watermark),
 * N inserts (op c) into another, then N updates of the same rows, in a fresh database on the local
 * Postgres, in batches like the pipeline's. Run with
 * `npm run build && node dist/test/bench/sink-bench.js [rows] [batch]`. Not part of `npm test`.
 */
import { SNAPSHOT_SEQ_BASE } from '../../src/cdc/event/change-event.js';
import { createSink } from '../../src/cdc/sink/knex-sink.js';
import { change } from '../helpers/cdc-change-events.js';
import { createTestDatabase } from '../helpers/sink-database.js';

const N = Number(process.argv[2] ?? 100_000);
const B = Number(process.argv[3] ?? 2000);

const db = await createTestDatabase('ficus_sink_bench');
try {
  const columns = ['id', 'email', 'name', 'created_at', 'score'].map((c) => ({ from: c, to: c }));
  const tables = ['snap', 'users'].map((t) => ({ from: { schema: 'public', table: t }, to: { schema: 'public', table: t }, columns, keyColumns: ['id'], at: [] }));
  for (const t of tables) await db.query(`create table ${t.to.table} (id int primary key, email text, name text, created_at timestamp, score float8)`);
  const sink = await createSink({ name: 'bench', url: db.url, retry: { retries: 2, initialMs: 10, maxMs: 100, factor: 2 }, at: [], tables }, { sourceId: 'bench' });
  await sink.migrate();
  const make = (hi: number, op: 'r' | 'c' | 'u', table: string) =>
    Array.from({ length: N }, (_, i) =>
      change({ op, table, key: { id: i }, after: { id: i, email: `u${i}@example.com`, name: `name ${i}`, created_at: 1_704_164_645_123_456 + i, score: i / 3 }, lsn: op === 'r' ? `${hi}/100` : `${hi}/${(Math.floor(i / B) + 1).toString(16)}00`, seq: op === 'r' ? SNAPSHOT_SEQ_BASE + i : i % B }),
    );
  for (const [label, events] of [['snapshot', make(0, 'r', 'snap')], ['insert', make(0, 'c', 'users')], ['update', make(1, 'u', 'users')]] as const) {
    const started = performance.now();
    for (let i = 0; i < N; i += B) await sink.apply(events.slice(i, i + B));
    const s = (performance.now() - started) / 1000;
    console.log(`${label}: ${N} rows in ${s.toFixed(2)} s = ${Math.round(N / s)} rows/s (batches of ${B})`);
  }
  await sink.close();
} finally {
  await db.drop();
}
