import pg from 'pg';
import { FicusError } from '../../errors.js';
import type { CdcModel, SinkModel, TableMapping } from '../config/cdc-model.js';
import { qualified, quoteIdent, tableKey } from '../config/cdc-model.js';
import type { TableInfo } from '../config/check-databases.js';
import { describeTable } from '../config/check-databases.js';
import { OID } from '../event/type-mapping.js';

/**
 * Source vs sink, per mapped table: row counts and a chunked hash of the mapped columns in key
 * order, computed in SQL on both sides with the column renames applied, so only hashes and counts
 * cross the network.
 * 1. Chunk boundaries come from the source: every `chunkSize`-th key in key order. The first chunk
 *    is open below and the last open above, so sink rows outside the source's key range are
 *    counted too.
 * 2. Per chunk, each side returns count(*) and md5(string_agg(row text ORDER BY key)), where a
 *    row's text is its mapped columns as `quote_nullable(col::text)` joined by commas (NULL and the
 *    string 'NULL' differ). Sessions use UTC, ISO dates and exact floats so equal values print
 *    equally; text keys are ordered and bounded with COLLATE "C" so both sides agree on order.
 * 3. Chunks whose count or hash differ are reported as key ranges [from, to), each with its first
 *    differing keys (missing in the sink, only in the sink, changed) from a per-row md5 of that
 *    range on both sides.
 * Rows written while reconcile runs can show up as differences: run it with the sink caught up
 * (`ficus cdc status` lag near 0), or re-run and compare the ranges.
 */
export interface ReconcileOptions {
  /** Keys per chunk (default 1000). */
  readonly chunkSize?: number;
  readonly onProgress?: (message: string) => void;
  /** How many differing keys of each kind to list per differing range (default 10). */
  readonly sampleKeys?: number;
}

export type KeyValues = Readonly<Record<string, string | null>>;

export interface DifferingRange {
  /** Inclusive lower bound (source key column names → text), null = open. */
  readonly from: KeyValues | null;
  /** Exclusive upper bound, null = open. */
  readonly to: KeyValues | null;
  readonly sourceRows: number;
  readonly sinkRows: number;
  /** The first keys that differ inside the range (up to `sampleKeys` of each kind). */
  readonly keys: DifferingKeys;
}

export interface DifferingKeys {
  /** In the source, not in the sink. */
  readonly missing: readonly KeyValues[];
  /** In the sink, not in the source. */
  readonly extra: readonly KeyValues[];
  /** In both, with different mapped column values. */
  readonly changed: readonly KeyValues[];
}

export interface TableReconcile {
  readonly sink: string;
  readonly source: string;
  readonly target: string;
  readonly sourceRows: number;
  readonly sinkRows: number;
  readonly chunks: number;
  readonly equal: boolean;
  readonly differing: readonly DifferingRange[];
}

export interface ReconcileReport {
  readonly equal: boolean;
  readonly chunkSize: number;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly tables: readonly TableReconcile[];
}

const SESSION = `set timezone = 'UTC'; set datestyle = 'ISO, YMD'; set intervalstyle = 'postgres'; set extra_float_digits = 3; set bytea_output = 'hex'`;
const TEXT_TYPES = new Set<number>([OID.text, OID.varchar, OID.bpchar, OID.name]);

async function connect(url: string, what: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    await client.query(SESSION);
    return client;
  } catch (err) {
    await client.end().catch(() => {});
    throw new FicusError('FICUS_ERR_CDC_RECONCILE', [what, (err as Error).message], { cause: err });
  }
}

/** One side of a table comparison: its SQL names for the mapped key and columns. */
interface Side {
  readonly client: pg.Client;
  readonly table: string;
  /** Key columns in source key order, with casts for bound parameters and collation. */
  readonly keys: ReadonlyArray<{ readonly sql: string; readonly type: string; readonly collate: string }>;
  /** Mapped columns in mapping order. */
  readonly columns: readonly string[];
}

function side(client: pg.Client, info: TableInfo, mapping: TableMapping, names: 'from' | 'to', keyNames: readonly string[]): Side {
  const keys = keyNames.map((name) => {
    const col = info.columns.find((c) => c.name === name);
    if (!col) throw new FicusError('FICUS_ERR_CDC_RECONCILE', [tableKey(info.name), `key column "${name}" does not exist`]);
    return { sql: quoteIdent(name), type: col.typeName, collate: TEXT_TYPES.has(col.typeOid) ? ' collate "C"' : '' };
  });
  return { client, table: qualified(info.name), keys, columns: mapping.columns.map((c) => quoteIdent(c[names])) };
}

function keyTuple(s: Side): string {
  return `(${s.keys.map((k) => `${k.sql}${k.collate}`).join(', ')})`;
}

function boundTuple(s: Side, firstParam: number): string {
  return `(${s.keys.map((k, i) => `$${firstParam + i}::${k.type}${k.collate}`).join(', ')})`;
}

type Bound = readonly (string | null)[] | null;

/** `where` clause and parameters for keys in [lo, hi) (null bound = open). */
function rangeWhere(s: Side, lo: Bound, hi: Bound): { sql: string; params: Array<string | null> } {
  const where: string[] = [];
  const params: Array<string | null> = [];
  if (lo) {
    where.push(`${keyTuple(s)} >= ${boundTuple(s, params.length + 1)}`);
    params.push(...lo);
  }
  if (hi) {
    where.push(`${keyTuple(s)} < ${boundTuple(s, params.length + 1)}`);
    params.push(...hi);
  }
  return { sql: where.length > 0 ? ` where ${where.join(' and ')}` : '', params };
}

function rowText(s: Side): string {
  return `concat_ws(',', ${s.columns.map((c) => `quote_nullable(${c}::text)`).join(', ')})`;
}

/** count + md5 of the rows whose key is in [lo, hi). */
async function chunkHash(s: Side, lo: Bound, hi: Bound): Promise<{ rows: number; hash: string | null }> {
  const w = rangeWhere(s, lo, hi);
  const order = s.keys.map((k) => `${k.sql}${k.collate}`).join(', ');
  const sql = `select count(*)::bigint as n, md5(string_agg(${rowText(s)}, E'\\n' order by ${order})) as h from ${s.table}${w.sql}`;
  const r = await s.client.query<{ n: string; h: string | null }>(sql, w.params);
  return { rows: Number(r.rows[0].n), hash: r.rows[0].h };
}

/** Per row of a differing range: key (as text, JSON array) → md5 of the row. Only differing chunks pay this. */
async function rowHashes(s: Side, lo: Bound, hi: Bound): Promise<Map<string, string>> {
  const w = rangeWhere(s, lo, hi);
  const key = `json_build_array(${s.keys.map((k) => `${k.sql}::text`).join(', ')})::text`;
  const r = await s.client.query<{ k: string; h: string }>(`select ${key} as k, md5(${rowText(s)}) as h from ${s.table}${w.sql}`, w.params);
  return new Map(r.rows.map((row) => [row.k, row.h]));
}

async function differingKeys(src: Side, dst: Side, lo: Bound, hi: Bound, names: readonly string[], limit: number): Promise<DifferingKeys> {
  const [a, b] = await Promise.all([rowHashes(src, lo, hi), rowHashes(dst, lo, hi)]);
  const named = (k: string): KeyValues => {
    const vals = JSON.parse(k) as Array<string | null>;
    return Object.fromEntries(names.map((n, i) => [n, vals[i]]));
  };
  const missing: KeyValues[] = [];
  const changed: KeyValues[] = [];
  const extra: KeyValues[] = [];
  for (const [k, h] of a) {
    const other = b.get(k);
    if (other === undefined) { if (missing.length < limit) missing.push(named(k)); }
    else if (other !== h && changed.length < limit) changed.push(named(k));
  }
  for (const k of b.keys()) if (!a.has(k) && extra.length < limit) extra.push(named(k));
  const byKey = (x: KeyValues, y: KeyValues) => JSON.stringify(Object.values(x)).localeCompare(JSON.stringify(Object.values(y)), 'en', { numeric: true });
  return { missing: missing.sort(byKey), extra: extra.sort(byKey), changed: changed.sort(byKey) };
}

/** Every chunkSize-th source key (as text), in key order: the chunk boundaries. */
async function boundaries(s: Side, chunkSize: number): Promise<Array<Array<string | null>>> {
  const keyCols = s.keys.map((k, i) => `${k.sql}::text as k${i}`).join(', ');
  const order = s.keys.map((k) => `${k.sql}${k.collate}`).join(', ');
  const r = await s.client.query<Record<string, string | null>>(
    `select ${s.keys.map((_, i) => `k${i}`).join(', ')} from (select ${keyCols}, row_number() over (order by ${order}) as rn from ${s.table}) x
      where (rn - 1) % $1 = 0 and rn > 1 order by rn`,
    [chunkSize],
  );
  return r.rows.map((row) => s.keys.map((_, i) => row[`k${i}`]));
}

async function reconcileTable(sink: SinkModel, mapping: TableMapping, source: pg.Client, target: pg.Client, chunkSize: number, sampleKeys: number, progress: (m: string) => void): Promise<TableReconcile> {
  const label = `${sink.name} ${tableKey(mapping.from)} → ${tableKey(mapping.to)}`;
  const srcInfo = await describeTable(source, mapping.from);
  if (!srcInfo) throw new FicusError('FICUS_ERR_CDC_RECONCILE', [label, `source table ${tableKey(mapping.from)} does not exist`]);
  const dstInfo = await describeTable(target, mapping.to);
  if (!dstInfo) throw new FicusError('FICUS_ERR_CDC_RECONCILE', [label, `sink table ${tableKey(mapping.to)} does not exist`]);
  const keyFrom = mapping.keyColumns.length > 0 ? mapping.keyColumns : srcInfo.keyColumns;
  if (keyFrom.length === 0) throw new FicusError('FICUS_ERR_CDC_RECONCILE', [label, 'the source table has no key']);
  const keyTo = keyFrom.map((k) => mapping.columns.find((c) => c.from === k)?.to ?? k);
  const src = side(source, srcInfo, mapping, 'from', keyFrom);
  const dst = side(target, dstInfo, mapping, 'to', keyTo);

  // 1.
  const bounds = await boundaries(src, chunkSize);
  const ranges: Array<[Array<string | null> | null, Array<string | null> | null]> = [];
  for (let i = 0; i <= bounds.length; i++) ranges.push([i === 0 ? null : bounds[i - 1], i === bounds.length ? null : bounds[i]]);
  // 2. and 3.
  let sourceRows = 0;
  let sinkRows = 0;
  const differing: DifferingRange[] = [];
  const named = (vals: readonly (string | null)[] | null): KeyValues | null => (vals ? Object.fromEntries(keyFrom.map((k, i) => [k, vals[i]])) : null);
  for (const [i, [lo, hi]] of ranges.entries()) {
    const [a, b] = await Promise.all([chunkHash(src, lo, hi), chunkHash(dst, lo, hi)]);
    sourceRows += a.rows;
    sinkRows += b.rows;
    if (a.rows !== b.rows || a.hash !== b.hash) {
      const keys = await differingKeys(src, dst, lo, hi, keyFrom, sampleKeys);
      differing.push({ from: named(lo), to: named(hi), sourceRows: a.rows, sinkRows: b.rows, keys });
    }
    if ((i + 1) % 50 === 0 || i === ranges.length - 1) progress(`${label}: chunk ${i + 1}/${ranges.length}, ${differing.length} differing`);
  }
  return { sink: sink.name, source: tableKey(mapping.from), target: tableKey(mapping.to), sourceRows, sinkRows, chunks: ranges.length, equal: differing.length === 0, differing };
}

export async function reconcile(model: CdcModel, options: ReconcileOptions = {}): Promise<ReconcileReport> {
  const chunkSize = options.chunkSize ?? 1000;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new FicusError('FICUS_ERR_CDC_RECONCILE', ['options', `chunkSize must be a positive integer, got ${chunkSize}`]);
  const progress = options.onProgress ?? (() => {});
  const started = Date.now();
  const tables: TableReconcile[] = [];
  const source = await connect(model.source.url, 'the source database');
  try {
    for (const sink of model.sinks) {
      const target = await connect(sink.url, `sink "${sink.name}"'s database`);
      try {
        for (const mapping of sink.tables) tables.push(await reconcileTable(sink, mapping, source, target, chunkSize, options.sampleKeys ?? 10, progress));
      } finally {
        await target.end().catch(() => {});
      }
    }
  } finally {
    await source.end().catch(() => {});
  }
  return { equal: tables.every((t) => t.equal), chunkSize, startedAt: new Date(started).toISOString(), durationMs: Date.now() - started, tables };
}

export function reconcileExitCode(report: ReconcileReport): 0 | 1 {
  return report.equal ? 0 : 1;
}

function formatKeys(k: KeyValues | null, open: string): string {
  if (!k) return open;
  return Object.entries(k).map(([name, v]) => `${name}=${v ?? 'NULL'}`).join(',');
}

/** A plain-text table, one line per mapped table, then the differing ranges under it. */
export function formatReconcile(report: ReconcileReport): string {
  const head = ['sink', 'source', 'target', 'source rows', 'sink rows', 'chunks', 'result'];
  const rows = report.tables.map((t) => [t.sink, t.source, t.target, String(t.sourceRows), String(t.sinkRows), String(t.chunks), t.equal ? 'equal' : `DIFFERENT (${t.differing.length} range${t.differing.length === 1 ? '' : 's'})`]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  const out = [line(head)];
  for (const [i, t] of report.tables.entries()) {
    out.push(line(rows[i]));
    for (const d of t.differing) {
      out.push(`  keys [${formatKeys(d.from, '-∞')} .. ${formatKeys(d.to, '+∞')}): source ${d.sourceRows} rows, sink ${d.sinkRows} rows`);
      const list = (ks: readonly KeyValues[]) => ks.map((k) => formatKeys(k, '')).join(' ');
      if (d.keys.missing.length > 0) out.push(`    missing in sink: ${list(d.keys.missing)}`);
      if (d.keys.extra.length > 0) out.push(`    only in sink:    ${list(d.keys.extra)}`);
      if (d.keys.changed.length > 0) out.push(`    changed:         ${list(d.keys.changed)}`);
    }
  }
  const total = report.tables.filter((t) => !t.equal).length;
  out.push(report.equal ? `all ${report.tables.length} tables equal (${report.durationMs} ms)` : `${total} of ${report.tables.length} tables differ (${report.durationMs} ms)`);
  return out.join('\n');
}

export interface ReconcileCommandOptions {
  readonly json: boolean;
  readonly out?: (s: string) => void;
  readonly err?: (s: string) => void;
  readonly chunkSize?: number;
}

/**
 * `ficus cdc reconcile --config FILE [--json]` after the config is loaded and checked: progress on
 * stderr (not with --json), the report on stdout. Exit 0 equal, 1 different, 2 could not compare.
 */
export async function runReconcileCommand(model: CdcModel, options: ReconcileCommandOptions): Promise<number> {
  const out = options.out ?? ((s: string) => process.stdout.write(`${s}\n`));
  const err = options.err ?? ((s: string) => process.stderr.write(`${s}\n`));
  try {
    const report = await reconcile(model, {
      ...(options.chunkSize ? { chunkSize: options.chunkSize } : {}),
      ...(options.json ? {} : { onProgress: err }),
    });
    // One line, like `cdc status --json`: easy for jq and for log lines.
    out(options.json ? JSON.stringify(report) : formatReconcile(report));
    return reconcileExitCode(report);
  } catch (e) {
    if (!(e instanceof FicusError)) throw e;
    err(`${e.code}: ${e.message}`);
    return 2;
  }
}
