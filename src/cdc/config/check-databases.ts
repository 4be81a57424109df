import pg from 'pg';
import type { ConfigProblem } from '../../config/problems.js';
import { sortProblems } from '../../config/problems.js';
import type { Locator, PathKey } from '../../config/yaml-source.js';
import { closest } from '../../config/did-you-mean.js';
import type { CdcModel, SinkModel, TableMapping, TableName } from './cdc-model.js';
import { tableKey } from './cdc-model.js';

/** A column as the catalog describes it; the decoder maps values by these types. */
export interface ColumnInfo {
  readonly name: string;
  readonly typeOid: number;
  readonly typmod: number;
  /** Element type of an array column, else 0. */
  readonly elemOid: number;
  readonly typeName: string;
}

export interface TableInfo {
  readonly name: TableName;
  readonly oid: number;
  readonly columns: readonly ColumnInfo[];
  /** Primary key, else the replica identity index, in index order. */
  readonly keyColumns: readonly string[];
  readonly replicaIdentity: 'default' | 'nothing' | 'full' | 'index';
}

export type SourceCatalog = ReadonlyMap<string, TableInfo>;

const IDENT: Record<string, TableInfo['replicaIdentity']> = { d: 'default', n: 'nothing', f: 'full', i: 'index' };

/** Reads one table's columns and keys; null when the table does not exist. */
export async function describeTable(client: pg.ClientBase, name: TableName): Promise<TableInfo | null> {
  const rel = await client.query<{ oid: number; relreplident: string }>(
    `select c.oid::int as oid, c.relreplident from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = $1 and c.relname = $2 and c.relkind in ('r', 'p')`,
    [name.schema, name.table],
  );
  if (rel.rows.length === 0) return null;
  const { oid, relreplident } = rel.rows[0];
  const cols = await client.query<ColumnInfo>(
    `select a.attname as "name", a.atttypid::int as "typeOid", a.atttypmod as "typmod", t.typelem::int as "elemOid",
            format_type(a.atttypid, a.atttypmod) as "typeName"
       from pg_attribute a join pg_type t on t.oid = a.atttypid
      where a.attrelid = $1 and a.attnum > 0 and not a.attisdropped order by a.attnum`,
    [oid],
  );
  // Debezium keys on the primary key; a table without one can still be keyed by its replica
  // identity index (REPLICA IDENTITY USING INDEX), which is what the WAL carries for deletes.
  const keys = await client.query<{ name: string; primary: boolean }>(
    `select a.attname as "name", i.indisprimary as "primary"
       from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
      where i.indrelid = $1 and (i.indisprimary or i.indisreplident)
      order by i.indisprimary desc, array_position(i.indkey::int2[], a.attnum)`,
    [oid],
  );
  const primary = keys.rows.filter((r) => r.primary).map((r) => r.name);
  const keyColumns = primary.length > 0 ? primary : keys.rows.map((r) => r.name);
  return { name, oid, columns: cols.rows, keyColumns, replicaIdentity: IDENT[relreplident] ?? 'default' };
}

/** Unique column sets (primary key and unique indexes) of a sink table. */
async function uniqueSets(client: pg.ClientBase, oid: number): Promise<string[][]> {
  const r = await client.query<{ cols: string[] }>(
    `select array_agg(a.attname order by array_position(i.indkey::int2[], a.attnum))::text[] as cols
       from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
      where i.indrelid = $1 and i.indisunique and i.indpred is null group by i.indexrelid`,
    [oid],
  );
  return r.rows.map((x) => x.cols);
}

export type CheckResult =
  | { readonly ok: true; readonly model: CdcModel; readonly catalog: SourceCatalog }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

/**
 * The start-up checks against the real databases, run before anything is written (no slot, no
 * publication, no migration): every captured table exists and has a key (primary key or replica
 * identity index, and replica identity is not NOTHING); every mapped column exists on both sides;
 * each sink table exists and has a unique index on the mapped key. Every problem is reported with
 * the file:line:col of the config entry behind it. Returns the model with key columns and
 * "all columns" mappings filled in from the catalog.
 */
export async function checkAgainstDatabases(model: CdcModel, locate: Locator, connect: (url: string) => pg.Client = (url) => new pg.Client({ connectionString: url })): Promise<CheckResult> {
  const problems: ConfigProblem[] = [];
  const report = (path: readonly PathKey[], message: string, key = false) => {
    const { line, col } = locate(path, key);
    problems.push({ file: model.file, line, col, message });
  };

  // 1. The source: tables, keys, replica identity.
  const catalog = new Map<string, TableInfo>();
  const source = connect(model.source.url);
  try {
    await source.connect();
    for (const [i, name] of model.source.tables.entries()) {
      const info = await describeTable(source, name);
      if (!info) {
        const others = await source.query<{ n: string }>(`select schemaname || '.' || tablename as n from pg_tables where schemaname not in ('pg_catalog','information_schema')`);
        const hint = closest(tableKey(name), others.rows.map((r) => r.n));
        report(['source', 'tables', i], `table ${tableKey(name)} does not exist in the source database${hint ? ` (did you mean ${hint}?)` : ''}`);
        continue;
      }
      if (info.replicaIdentity === 'nothing') {
        report(['source', 'tables', i], `table ${tableKey(name)} has REPLICA IDENTITY NOTHING, so its updates and deletes cannot be captured; use DEFAULT with a primary key, USING INDEX, or FULL`);
      } else if (info.keyColumns.length === 0) {
        report(['source', 'tables', i], `table ${tableKey(name)} has no primary key or replica identity index, so its events would have no key; add a primary key or ALTER TABLE ... REPLICA IDENTITY USING INDEX`);
      }
      catalog.set(tableKey(name), info);
    }
  } catch (err) {
    report(['source', 'url'], `cannot connect to the source database: ${(err as Error).message}`);
    return { ok: false, problems: sortProblems(problems) };
  } finally {
    await source.end().catch(() => {});
  }

  // 2. Each sink: mapped columns exist on both sides, the sink table exists with a unique key.
  const sinks: SinkModel[] = [];
  for (const sink of model.sinks) {
    const client = connect(sink.url);
    const tables: TableMapping[] = [];
    try {
      await client.connect();
      for (const m of sink.tables) {
        const src = catalog.get(tableKey(m.from));
        if (!src) { tables.push(m); continue; } // already reported (or not captured: reported by the file check)
        const srcCols = src.columns.map((c) => c.name);
        const columns = m.columns.length > 0 ? m.columns : srcCols.map((c) => ({ from: c, to: c }));
        if (m.columns.length > 0) {
          for (const c of m.columns) {
            if (!srcCols.includes(c.from)) {
              const hint = closest(c.from, srcCols);
              report([...m.at, 'columns', c.from], `column "${c.from}" does not exist in source table ${tableKey(m.from)}${hint ? ` (did you mean "${hint}"?)` : ''}`, true);
            }
          }
          const missingKeys = src.keyColumns.filter((k) => !m.columns.some((c) => c.from === k));
          if (missingKeys.length > 0 && src.keyColumns.length > 0) {
            report([...m.at, 'columns'], `the mapping must include the key column${missingKeys.length > 1 ? 's' : ''} ${missingKeys.map((k) => `"${k}"`).join(', ')} of ${tableKey(m.from)}`);
          }
        }
        const dst = await describeTable(client, m.to);
        if (!dst) {
          report([...m.at, 'to'], `sink table ${tableKey(m.to)} does not exist in sink "${sink.name}"'s database; create it (with a primary key) first`);
        } else {
          const dstCols = dst.columns.map((c) => c.name);
          for (const c of columns) {
            if (!dstCols.includes(c.to)) {
              const hint = closest(c.to, dstCols);
              const where = m.columns.length > 0 ? [...m.at, 'columns', c.from] : [...m.at, 'to'];
              report(where, `column "${c.to}" does not exist in sink table ${tableKey(m.to)}${hint ? ` (did you mean "${hint}"?)` : ''}`);
            }
          }
          const mappedKey = src.keyColumns.map((k) => columns.find((c) => c.from === k)?.to).filter((x): x is string => x !== undefined);
          if (mappedKey.length === src.keyColumns.length && mappedKey.length > 0) {
            const sets = await uniqueSets(client, dst.oid);
            const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x) => b.includes(x));
            if (!sets.some((set) => sameSet(set, mappedKey))) {
              report([...m.at, 'to'], `sink table ${tableKey(m.to)} needs a primary key or unique index on (${mappedKey.join(', ')}) for upserts`);
            }
          }
        }
        tables.push({ ...m, columns, keyColumns: src.keyColumns });
      }
    } catch (err) {
      report([...sink.at, 'url'], `cannot connect to sink "${sink.name}"'s database: ${(err as Error).message}`);
    } finally {
      await client.end().catch(() => {});
    }
    sinks.push({ ...sink, tables });
  }
  if (problems.length > 0) return { ok: false, problems: sortProblems(problems) };
  return { ok: true, model: Object.freeze({ ...model, sinks }), catalog };
}
