import type { TableMapping } from '../config/cdc-model.js';
import type { ColumnType } from '../event/type-mapping.js';

/** What a sink knows about one mapped target table, read from its database once (knex-sink loadTargets). */
export interface TargetTable {
  readonly mapping: TableMapping;
  /** Quoted, qualified name for SQL. */
  readonly sql: string;
  readonly keyColumns: readonly string[];
  /** Every mapped target column. */
  readonly columns: readonly string[];
  /** Type used to decode each target column's value. */
  readonly types: ReadonlyMap<string, ColumnType>;
  /** The sink column's own type (pg_type oid), which may differ from the source column's in `types`. */
  readonly sinkTypeOids: ReadonlyMap<string, number>;
  /** The sink column's SQL type (format_type), for the typed arrays of the unnest writes. */
  readonly sqlTypes: ReadonlyMap<string, string>;
  /** Array columns cannot travel through unnest (it flattens them): such tables use VALUES lists. */
  readonly hasArrayColumn: boolean;
}
