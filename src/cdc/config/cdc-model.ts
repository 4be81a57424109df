import type { PathKey } from '../../config/yaml-source.js';
import type { RetryPolicy } from '../../util/retry.js';

/** What the user wrote (after schema validation). */
export interface CdcConfigFile {
  source: {
    url: string; slot: string; publication: string; tables: string[];
    snapshot?: 'initial' | 'never' | 'always'; heartbeat?: string | number; tombstones?: boolean; batchSize?: number; snapshotBatchSize?: number; snapshotBatchBytes?: number;
  };
  topicPrefix: string;
  transport: { kind: 'direct' | 'redis' | 'kafka'; url?: string; maxLen?: number; brokers?: string[]; clientId?: string };
  sinks: Array<{
    name: string; url: string;
    tables: Array<{ from: string; to: string; columns?: Record<string, string> }>;
    retry?: { retries?: number; initial?: string | number; max?: string | number };
  }>;
}

export interface TableName {
  readonly schema: string;
  readonly table: string;
}

export type TransportModel =
  | { readonly kind: 'direct' }
  | { readonly kind: 'redis'; readonly url: string; readonly maxLen: number | null }
  | { readonly kind: 'kafka'; readonly brokers: readonly string[]; readonly clientId: string };

export interface ColumnMapping {
  readonly from: string;
  readonly to: string;
}

export interface TableMapping {
  readonly from: TableName;
  readonly to: TableName;
  /** Selected + renamed columns. `null` columns in the file means "all, same names": the
   *  start-up check fills the list from the catalog, in source column order. */
  readonly columns: readonly ColumnMapping[];
  /** The source table's key columns (primary key, else replica identity index), set by the start-up check. */
  readonly keyColumns: readonly string[];
  /** Where this mapping sits in the file, for located errors. */
  readonly at: readonly PathKey[];
}

export interface SinkModel {
  readonly name: string;
  readonly url: string;
  readonly tables: readonly TableMapping[];
  readonly retry: RetryPolicy;
  readonly at: readonly PathKey[];
}

export interface SourceModel {
  readonly url: string;
  readonly slot: string;
  readonly publication: string;
  readonly tables: readonly TableName[];
  readonly snapshot: 'initial' | 'never' | 'always';
  readonly heartbeatMs: number;
  readonly tombstones: boolean;
  readonly batchSize: number;
  /** Snapshot rows per transport batch: larger, since a sink takes each batch with one COPY. */
  readonly snapshotBatchSize: number;
  /** A snapshot batch also ends at this much COPY text (bounded memory with wide rows). */
  readonly snapshotBatchBytes: number;
}

/** The compiled, immutable CDC model the pipeline, transports and sinks read. */
export interface CdcModel {
  readonly file: string;
  readonly source: SourceModel;
  readonly topicPrefix: string;
  readonly transport: TransportModel;
  readonly sinks: readonly SinkModel[];
}

export const CDC_DEFAULTS = {
  snapshot: 'initial',
  heartbeatMs: 10_000,
  tombstones: true,
  batchSize: 2000,
  snapshotBatchSize: 20_000,
  snapshotBatchBytes: 8 * 1024 * 1024,
  kafkaClientId: 'ficus',
  retry: { retries: 5, initialMs: 100, maxMs: 10_000, factor: 2 } satisfies RetryPolicy,
} as const;

export function parseTableName(name: string): TableName {
  const dot = name.indexOf('.');
  return dot === -1 ? { schema: 'public', table: name } : { schema: name.slice(0, dot), table: name.slice(dot + 1) };
}

export function tableKey(t: TableName): string {
  return `${t.schema}.${t.table}`;
}

export function topicFor(prefix: string, t: TableName): string {
  return `${prefix}.${t.schema}.${t.table}`;
}

/** Double-quotes an identifier for SQL. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function qualified(t: TableName): string {
  return `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`;
}
