import type { ChangeEvent, ColumnValue, EventPosition, Row } from '../event/change-event.js';
import { UNAVAILABLE_VALUE } from '../event/change-event.js';
import { encodeJson } from '../event/event-codec.js';
import { comparePositions } from '../event/position.js';
import type { TableMapping } from '../config/cdc-model.js';
import { tableKey } from '../config/cdc-model.js';

/**
 * Turns a batch of change events into what one sink transaction must do, without touching a
 * database (so it is unit-tested exactly):
 * 1. tombstones are dropped (the delete before them did the work; they exist for Kafka compaction);
 * 2. per target table, a truncate is a barrier: changes before it in the batch are discarded;
 * 3. per row key only the last change survives, in the order of that last change (so secondary
 *    unique constraints see the source's order), and an update whose TOAST column is the
 *    placeholder borrows the real value from an earlier change of the same row in the batch;
 * 4. events that cannot be applied at all (no key, no row image) are set aside for dead letters.
 */
export type RowChange = UpsertChange | DeleteChange;

interface ChangeBase {
  /** Canonical JSON of the source key values, in key-column order: the LSN guard's row key. */
  readonly rowKey: string;
  /** Source key values by TARGET column name. */
  readonly keyValues: ReadonlyMap<string, ColumnValue>;
  readonly position: EventPosition;
  /** The last event behind this change (stored with a dead letter). */
  readonly event: ChangeEvent;
}

export interface UpsertChange extends ChangeBase {
  readonly kind: 'upsert';
  /** Target column → value, only for columns whose value is known (TOAST placeholders omitted). */
  readonly values: ReadonlyMap<string, ColumnValue>;
}

export interface DeleteChange extends ChangeBase {
  readonly kind: 'delete';
}

export interface TablePlan {
  readonly mapping: TableMapping;
  /** Qualified target name used in ficus's bookkeeping tables: `schema.table`. */
  readonly target: string;
  /** The latest truncate in the batch, if any. */
  readonly truncate: { readonly position: EventPosition; readonly event: ChangeEvent } | null;
  /** Surviving changes, ordered by position. */
  readonly changes: readonly RowChange[];
}

export interface Rejected {
  readonly event: ChangeEvent;
  readonly mapping: TableMapping;
  readonly reason: string;
}

export interface BatchPlan {
  readonly tables: readonly TablePlan[];
  readonly rejected: readonly Rejected[];
  /** Highest position in the batch (tombstones included), null for an empty batch. */
  readonly maxPosition: EventPosition | null;
  /** Source commit time of the newest event, for time lag. */
  readonly lastEventTsMs: number | null;
  /** Events (not tombstones) in the batch, for the applied-events counter. */
  readonly eventCount: number;
}

/** JSON of key values in order; bigint keeps its digits, so 42 and 42n make the same key. */
export function canonicalKey(values: readonly ColumnValue[]): string {
  // Plain JSON.stringify (no replacer) is several times faster; only bigint needs encodeJson.
  for (const v of values) if (typeof v === 'bigint') return encodeJson(values);
  return JSON.stringify(values);
}

/** Source key column → target column name, computed once per mapping. */
const keyTargets = new WeakMap<TableMapping, ReadonlyArray<readonly [from: string, to: string]>>();
function keyTargetsOf(m: TableMapping): ReadonlyArray<readonly [string, string]> {
  let k = keyTargets.get(m);
  if (!k) {
    k = m.keyColumns.map((from) => [from, m.columns.find((c) => c.from === from)?.to ?? from] as const);
    keyTargets.set(m, k);
  }
  return k;
}

export function isUnavailable(v: ColumnValue | undefined): boolean {
  if (v === UNAVAILABLE_VALUE) return true;
  // Debezium writes the placeholder as a one-element list for unchanged TOASTed arrays.
  return Array.isArray(v) && v.length === 1 && v[0] === UNAVAILABLE_VALUE;
}

export function targetName(m: TableMapping): string {
  return tableKey(m.to);
}

interface Working {
  readonly mapping: TableMapping;
  truncate: TablePlan['truncate'];
  changes: Map<string, RowChange>;
}

export function planBatch(events: readonly ChangeEvent[], mappings: ReadonlyMap<string, TableMapping>): BatchPlan {
  const tables = new Map<string, Working>();
  const rejected: Rejected[] = [];
  let maxPosition: EventPosition | null = null;
  let lastEventTsMs: number | null = null;
  let eventCount = 0;

  for (const e of events) {
    if (maxPosition === null || comparePositions(e.position, maxPosition) > 0) maxPosition = e.position;
    // 1. Tombstones carry no row image and nothing to do.
    if (e.value === null) continue;
    eventCount++;
    lastEventTsMs = Math.max(lastEventTsMs ?? 0, e.value.source.ts_ms);
    const mapping = mappings.get(`${e.schema}.${e.table}`);
    if (!mapping) continue; // a topic this sink does not map (consumers subscribe only to mapped topics)
    let w = tables.get(targetName(mapping));
    if (!w) {
      w = { mapping, truncate: null, changes: new Map() };
      tables.set(targetName(mapping), w);
    }
    // 2. A truncate wipes what came before it.
    if (e.value.op === 't') {
      w.truncate = { position: e.position, event: e };
      w.changes.clear();
      continue;
    }
    // 3. Last change per key wins.
    if (e.key === null) {
      rejected.push({ event: e, mapping, reason: `a ${e.value.op} event without a key` });
      continue;
    }
    const keyValues = new Map<string, ColumnValue>();
    const keyList: ColumnValue[] = [];
    let missing: string | null = null;
    for (const [k, to] of keyTargetsOf(mapping)) {
      const v = e.key[k];
      if (v === undefined) missing = k;
      keyList.push(v ?? null);
      keyValues.set(to, v ?? null);
    }
    if (missing !== null) {
      rejected.push({ event: e, mapping, reason: `the event key lacks key column "${missing}"` });
      continue;
    }
    const rowKey = canonicalKey(keyList);
    const prev = w.changes.get(rowKey);
    w.changes.delete(rowKey); // re-inserted below, so Map order = order of each key's last change
    if (e.value.op === 'd') {
      w.changes.set(rowKey, { kind: 'delete', rowKey, keyValues, position: e.position, event: e });
      continue;
    }
    const after: Row | null = e.value.after;
    if (after === null) {
      rejected.push({ event: e, mapping, reason: `a ${e.value.op} event without an "after" row` });
      continue;
    }
    const values = new Map<string, ColumnValue>();
    for (const c of mapping.columns) {
      const v = after[c.from];
      if (v === undefined || isUnavailable(v)) {
        // Unchanged TOAST value: take it from an earlier change of this row in the batch, else
        // leave the column out so the stored value stays.
        if (prev?.kind === 'upsert' && prev.values.has(c.to)) values.set(c.to, prev.values.get(c.to) ?? null);
        continue;
      }
      values.set(c.to, v);
    }
    for (const [k, v] of keyValues) values.set(k, v);
    w.changes.set(rowKey, { kind: 'upsert', rowKey, keyValues, values, position: e.position, event: e });
  }

  const plans: TablePlan[] = [...tables.entries()].map(([target, w]) => ({
    mapping: w.mapping,
    target,
    truncate: w.truncate,
    changes: [...w.changes.values()],
  }));
  return { tables: plans, rejected, maxPosition, lastEventTsMs, eventCount };
}
