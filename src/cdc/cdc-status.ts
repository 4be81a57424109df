import pg from 'pg';
import type { CdcModel } from './config/cdc-model.js';
import { formatPosition, lsnToBigInt } from './event/position.js';
import type { SinkStatus } from './sink/sink-status.js';
import { sinkStatusFromDb } from './sink/sink-status.js';

export interface SlotStatus {
  readonly slot: string;
  readonly exists: boolean;
  readonly active: boolean;
  readonly confirmedLsn: string | null;
  readonly currentLsn: string;
  /** WAL the slot still holds for us: current - confirmed. */
  readonly lagBytes: number | null;
  readonly snapshotCompleted: boolean | null;
}

export interface SinkReport {
  readonly sink: string;
  readonly status: SinkStatus | null;
  readonly error: string | null;
  readonly lagBytes: number | null;
  /** Age of the newest applied change when the sink is behind the source, else 0. */
  readonly lagSeconds: number | null;
  readonly eventsPerSecond: number | null;
}

export interface CdcStatusReport {
  readonly slot: SlotStatus;
  readonly sinks: readonly SinkReport[];
}

/**
 * What `ficus cdc status` shows, read from the databases (so it works with or without a running
 * `cdc run`): the slot's position and lag, and each sink's stored position, lag, throughput
 * (two samples `sampleMs` apart) and dead letters.
 */
export async function readCdcStatus(model: CdcModel, options: { sampleMs?: number; now?: () => number } = {}): Promise<CdcStatusReport> {
  const now = options.now ?? Date.now;
  const c = new pg.Client({ connectionString: model.source.url });
  await c.connect();
  let slot: SlotStatus;
  try {
    const r = await c.query<{ active: boolean; confirmed: string | null; current: string; lag: string | null }>(
      `select active, confirmed_flush_lsn::text as confirmed, pg_current_wal_lsn()::text as current,
              (pg_current_wal_lsn() - confirmed_flush_lsn)::text as lag
         from pg_replication_slots where slot_name = $1`, [model.source.slot]);
    const cur = (await c.query<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn')).rows[0].lsn;
    let snapshotCompleted: boolean | null = null;
    try {
      const s = await c.query<{ completed_at: Date | null }>('select completed_at from ficus_cdc_snapshot where slot = $1', [model.source.slot]);
      snapshotCompleted = s.rows.length === 0 ? null : s.rows[0].completed_at !== null;
    } catch { /* table not created yet */ }
    const row = r.rows[0];
    slot = {
      slot: model.source.slot, exists: row !== undefined, active: row?.active ?? false,
      confirmedLsn: row?.confirmed ?? null, currentLsn: cur, lagBytes: row?.lag != null ? Number(row.lag) : null, snapshotCompleted,
    };
  } finally {
    await c.end().catch(() => {});
  }
  const sample = async () => Promise.all(model.sinks.map(async (s) => {
    try { return { status: await sinkStatusFromDb(s.url, s.name, model.source.slot), error: null }; }
    catch (err) { return { status: null, error: (err as Error).message }; }
  }));
  const first = await sample();
  const t0 = now();
  const sampleMs = options.sampleMs ?? 1000;
  const second = sampleMs > 0 ? (await new Promise((r) => setTimeout(r, sampleMs)), await sample()) : first;
  const elapsed = Math.max(1, now() - t0) / 1000;
  const sinks = model.sinks.map((s, i): SinkReport => {
    const st = second[i].status;
    const before = first[i].status;
    const lagBytes = st?.position ? Math.max(0, Number(lsnToBigInt(slot.currentLsn) - lsnToBigInt(st.position.lsn))) : null;
    const behind = st?.position && slot.confirmedLsn ? lsnToBigInt(st.position.lsn) < lsnToBigInt(slot.confirmedLsn) - 1n : false;
    return {
      sink: s.name,
      status: st,
      error: second[i].error,
      lagBytes,
      lagSeconds: st?.lastEventTsMs != null ? (behind ? Math.max(0, (now() - st.lastEventTsMs) / 1000) : 0) : null,
      eventsPerSecond: st && before && sampleMs > 0 ? (st.eventsApplied - before.eventsApplied) / elapsed : null,
    };
  });
  return { slot, sinks };
}

export function formatCdcStatus(r: CdcStatusReport): string {
  const lines: string[] = [];
  const s = r.slot;
  lines.push(`slot ${s.slot}: ${s.exists ? (s.active ? 'active' : 'inactive') : 'missing'}, confirmed ${s.confirmedLsn ?? '-'}, server at ${s.currentLsn}, lag ${s.lagBytes ?? '-'} bytes${s.snapshotCompleted === false ? ', snapshot INCOMPLETE' : ''}`);
  for (const k of r.sinks) {
    if (!k.status) { lines.push(`sink ${k.sink}: unreachable (${k.error})`); continue; }
    const p = k.status.position;
    const dl = k.status.deadLetters;
    lines.push(`sink ${k.sink}: position ${p ? formatPosition(p) : '-'}, lag ${k.lagBytes ?? '-'} bytes / ${k.lagSeconds === null ? '-' : k.lagSeconds.toFixed(1)} s, ${k.eventsPerSecond === null ? '-' : k.eventsPerSecond.toFixed(1)} events/s, ${k.status.eventsApplied} applied, dead letters ${dl.count}`);
    if (dl.latest) lines.push(`  latest dead letter #${dl.latest.id} ${dl.latest.sourceTable} key ${dl.latest.rowKey ?? '-'} at ${formatPosition(dl.latest.position)}: ${dl.latest.error}`);
  }
  return lines.join('\n');
}
