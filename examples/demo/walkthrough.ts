import { createHash } from 'node:crypto';
import type { FicusHandle } from '../../src/main.js';
import type { AdminClient, ShadowTotals } from './admin-client.js';
import { shadowDelta, shadowTotals } from './admin-client.js';
import type { CdcSync } from './cdc-sync.js';
import type { Checks } from './checks.js';
import { mark, pct } from './checks.js';
import type { StageFiles, StageName } from './stage-files.js';
import { CANARY_FLAG } from './stage-files.js';
import type { TrafficGenerator, TrafficResult } from './traffic.js';
import { answererOf } from './traffic.js';

/**
 * The walk-through: the users routes go legacy → shadow → canary (flag flip) → live, a user
 * written through the proxy reaches the users service through CDC, then migrated, then a rollback
 * by rule change and its undo through the admin API. Each step prints a few lines and records
 * checks; the figures also go into the summary the end-to-end test reads.
 */
export const READ_ROUTE = 'users-read';

export interface WalkthroughContext {
  readonly ficus: FicusHandle;
  readonly admin: AdminClient;
  readonly traffic: TrafficGenerator;
  readonly stages: StageFiles;
  readonly cdc: CdcSync;
  readonly checks: Checks;
  readonly print: (line: string) => void;
  /** Reads sent per stage, and for the canary once the flag is on (more, to measure the split). */
  readonly reads: number;
  readonly canaryReads: number;
  /** The canary's rollout, as a share (0.1), and the allowed deviation of the measured share. */
  readonly canaryShare: number;
  readonly canaryTolerance: number;
}

export type Summary = Record<string, unknown>;

const split = (t: TrafficResult) => `legacy ${t.byAnswerer.legacy}, users ${t.byAnswerer.users}${t.byAnswerer.other ? `, other ${t.byAnswerer.other}` : ''}`;

export async function runWalkthrough(ctx: WalkthroughContext): Promise<Summary> {
  const { ficus, admin, traffic, stages, checks, print, reads } = ctx;
  const summary: Summary = {};

  /**
   * Writes the stage over the rules file and reloads through the admin API. The file watcher may
   * be reloading at the same moment (reloads coalesce), so wait until the version ficus serves is
   * this text's: versions end with the first 12 hex digits of the file's sha256.
   */
  const apply = async (stage: StageName) => {
    stages.write(stage);
    const hash = createHash('sha256').update(stages.text(stage)).digest('hex').slice(0, 12);
    const deadline = Date.now() + 10_000;
    for (;;) {
      await admin.reload();
      const version = await admin.rulesVersion();
      if (version.endsWith(`-${hash}`)) return version;
      if (Date.now() > deadline) throw new Error(`ficus did not load ${stage} (serving ${version})`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  /** Reads the route's cumulative shadow counters once every copy sent so far has been compared. */
  let shadowSent = 0;
  const settledShadow = async (): Promise<ShadowTotals> => {
    await ficus.shadow.idle();
    const deadline = Date.now() + 10_000;
    for (;;) {
      const t = shadowTotals(await admin.shadowRoute(READ_ROUTE));
      if (t.compared + t.errors + t.dropped + t.skipped >= shadowSent || Date.now() > deadline) return t;
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  // Stage 1 — legacy (ficus started with it).
  {
    const t = await traffic.reads(reads);
    const ok = checks.check('legacy: every read answered by the monolith', t.byAnswerer.legacy === reads, split(t));
    print(`[1/5 legacy]   ${reads} reads → ${split(t)}  ${mark(ok, `legacy ${reads}`)}`);
    summary.legacy = { sent: reads, ...t.byAnswerer };
  }

  // Stage 2 — shadow: the monolith answers, every read is compared with the users service.
  {
    const version = await apply('users-2-shadow');
    const before = await settledShadow();
    const t = await traffic.reads(reads);
    shadowSent += reads;
    const d = shadowDelta(before, await settledShadow());
    const rate = d.compared > 0 ? d.matched / d.compared : null;
    const expected = t.lowerCaseEmails / reads;
    const answered = checks.check('shadow: every read answered by the monolith', t.byAnswerer.legacy === reads, split(t));
    const compared = checks.check('shadow: reads compared', d.compared >= reads * 0.9, `${d.compared} of ${reads} compared (errors ${d.errors}, dropped ${d.dropped})`);
    const rateOk = checks.check('shadow: match rate = share of users whose email is already lower-case', rate !== null && Math.abs(rate - expected) <= 0.03, `${pct(rate)} vs ${pct(expected)}`);
    const topOk = checks.check('shadow: the top differing field is the email', d.topField?.field === '$.data.email', String(d.topField?.field));
    const ex = d.topField?.example as { primary?: unknown; candidate?: unknown } | null | undefined;
    print(`[2/5 shadow]   rules ${version}: ${reads} reads → ${split(t)}  ${mark(answered, `legacy ${reads}`)}`);
    print(`               shadow report: ${d.compared} compared, match rate ${pct(rate)} (users with a lower-case email: ${pct(expected)})  ${mark(compared && rateOk, `≥ 90% compared, rate ${pct(expected)} ± 3`)}`);
    print(`               top differing field: ${d.topField ? `${d.topField.field} on ${d.topField.count} reads, e.g. ${JSON.stringify(ex?.primary)} vs ${JSON.stringify(ex?.candidate)}` : 'none'}  ${mark(topOk, '$.data.email')}`);
    summary.shadow = { sent: reads, ...t.byAnswerer, compared: d.compared, matched: d.matched, matchRate: rate, expectedMatchRate: expected, topField: d.topField?.field ?? null, topFieldCount: d.topField?.count ?? 0, errors: d.errors, dropped: d.dropped };
  }

  // Stage 3 — canary: the flag decides per user; flip it on and 10% of users go live.
  {
    const version = await apply('users-3-canary');
    const off = await traffic.reads(reads);
    shadowSent += reads;
    const offOk = checks.check('canary: flag off keeps every read on the monolith', off.byAnswerer.legacy === reads, split(off));
    print(`[3/5 canary]   rules ${version}, flag ${CANARY_FLAG} off: ${reads} reads → ${split(off)}  ${mark(offOk, `legacy ${reads}`)}`);
    stages.setCanary(true);
    await waitForFlagOn(ficus);
    const metricsBefore = await admin.requestsByUpstream(READ_ROUTE);
    const on = await traffic.reads(ctx.canaryReads);
    const metricsAfter = await admin.requestsByUpstream(READ_ROUTE);
    shadowSent += ctx.canaryReads; // shadow (legacy answers) and live (users answers) both compare
    const share = on.byAnswerer.users / ctx.canaryReads;
    const splitOk = checks.check('canary: share of reads served by the users service within tolerance', Math.abs(share - ctx.canaryShare) <= ctx.canaryTolerance && on.byAnswerer.other === 0, `${pct(share)} vs ${pct(ctx.canaryShare)} ± ${pct(ctx.canaryTolerance)}`);
    const fromMetrics = (metricsAfter.users ?? 0) - (metricsBefore.users ?? 0);
    const metricsOk = checks.check('canary: ficus_requests_total agrees with what the clients saw', fromMetrics === on.byAnswerer.users, `metrics ${fromMetrics}, clients ${on.byAnswerer.users}`);
    print(`               flag flipped on (rollout ${pct(ctx.canaryShare)} of users by x-user-id): ${ctx.canaryReads} reads from ${ctx.canaryReads} visitors → ${split(on)}`);
    print(`               users service share ${pct(share)} (expected ${pct(ctx.canaryShare)} ± ${pct(ctx.canaryTolerance)}; ficus_requests_total says ${fromMetrics})  ${mark(splitOk && metricsOk, 'the rollout share, and metrics = clients')}`);
    summary.canary = { off: { sent: reads, ...off.byAnswerer }, on: { sent: ctx.canaryReads, ...on.byAnswerer, share, expectedShare: ctx.canaryShare, tolerance: ctx.canaryTolerance, usersFromMetrics: fromMetrics } };
  }

  // Stage 4 — live: the users service answers; the monolith gets the copy (verifying after the flip).
  {
    const version = await apply('users-4-live');
    const before = await settledShadow();
    const t = await traffic.reads(reads);
    shadowSent += reads;
    const d = shadowDelta(before, await settledShadow());
    const rate = d.compared > 0 ? d.matched / d.compared : null;
    const ok = checks.check('live: every read answered by the users service', t.byAnswerer.users === reads, split(t));
    print(`[4/5 live]     rules ${version}: ${reads} reads → ${split(t)}  ${mark(ok, `users ${reads}`)}`);
    print(`               verifying against the monolith: ${d.compared} compared, match rate ${pct(rate)}, top field ${d.topField?.field ?? 'none'}`);
    summary.live = { sent: reads, ...t.byAnswerer, compared: d.compared, matchRate: rate };
  }

  // CDC — a write through the proxy goes to the monolith and reaches the service's database.
  {
    const email = `New.Customer${Date.now() % 1_000_000}@Example.com`;
    const t0 = Date.now();
    const created = await traffic.send('POST', '/api/users', { email, name: 'New Customer' });
    const data = (created.body as { data?: { id?: string } }).data;
    const wroteOk = checks.check('cdc: a write through the proxy is answered by the monolith', created.status === 201 && answererOf(200, created.body) === 'legacy', `status ${created.status}`);
    let lagMs: number | null = null;
    let servedOk = false;
    let servedEmail: unknown = null;
    if (data?.id) {
      const row = await ctx.cdc.waitForRow(data.id, t0, 10_000).catch(() => null);
      lagMs = row?.ms ?? null;
      const read = await traffic.get(`/api/users/${data.id}`);
      servedEmail = (read.body as { data?: { email?: unknown } }).data?.email;
      servedOk = answererOf(read.status, read.body) === 'users' && servedEmail === email.toLowerCase();
    }
    const syncedOk = checks.check('cdc: the new user reached the users service', lagMs !== null, lagMs === null ? 'not replicated within 10 s' : `${lagMs} ms`);
    checks.check('cdc: the users service serves the new user', servedOk, String(servedEmail));
    const status = await ctx.cdc.status();
    print(`[cdc]          POST /api/users ${JSON.stringify(email)} → ${created.status} from the monolith  ${mark(wroteOk, '201 from legacy')}`);
    print(`               in the users service's database after ${lagMs ?? '-'} ms (email → email_address); GET through ficus → users service: ${JSON.stringify(servedEmail)}  ${mark(syncedOk && servedOk, 'replicated and served')}`);
    // Slot lag is cluster-wide WAL not yet acknowledged (the service's own writes count too); the
    // time lag is the age of the oldest change not yet acknowledged (0 when caught up).
    print(`               sink ${ctx.cdc.sinkName}: ${status.eventsApplied} change events applied; CDC lag ${status.lagSeconds === null ? '-' : `${status.lagSeconds.toFixed(1)} s`} (${status.lagBytes === null ? '-' : `${Math.round(status.lagBytes / 1024)} KiB`} of WAL held by the slot)`);
    summary.cdcWrite = { status: created.status, lagMs, servedEmail, eventsApplied: status.eventsApplied, lagSeconds: status.lagSeconds, slotLagBytes: status.lagBytes };
  }

  // Stage 5 — migrated: the users service alone.
  {
    const version = await apply('users-5-migrated');
    const t = await traffic.reads(reads);
    const ok = checks.check('migrated: every read answered by the users service', t.byAnswerer.users === reads, split(t));
    print(`[5/5 migrated] rules ${version}: ${reads} reads → ${split(t)}, nothing compared  ${mark(ok, `users ${reads}`)}`);
    summary.migrated = { sent: reads, ...t.byAnswerer };
  }

  // Rollback by rule change: stage 1 goes back over the rules file; then the admin API undoes it.
  {
    const version = await apply('users-1-legacy');
    const t = await traffic.reads(reads);
    const ok = checks.check('rollback: every read back on the monolith', t.byAnswerer.legacy === reads, split(t));
    print(`[rollback]     rules file ← users-1-legacy.yaml (${version}): ${reads} reads → ${split(t)}  ${mark(ok, `legacy ${reads}`)}`);
    const r = await admin.rollback();
    const restored = (r.body as { restored?: string }).restored ?? null;
    const u = await traffic.reads(reads);
    const undoOk = checks.check('undo: POST /rules/rollback restores the previous rules (migrated)', r.status === 200 && u.byAnswerer.users === reads, `status ${r.status}, ${split(u)}`);
    print(`[undo]         POST /rules/rollback → ${r.status}, restored ${restored}: ${reads} reads → ${split(u)}  ${mark(undoOk, `users ${reads}`)}`);
    summary.rollback = { sent: reads, ...t.byAnswerer, restoredLegacy: ok };
    summary.undo = { status: r.status, restored, sent: reads, ...u.byAnswerer };
  }
  return summary;
}

/** The flags file is watched; once the flip is loaded, some of 1000 probe keys evaluate `true`. */
async function waitForFlagOn(ficus: FicusHandle): Promise<void> {
  const provider = ficus.flags?.provider;
  if (!provider) throw new Error('ficus runs without a flag provider: the rules have no flags section');
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    for (let i = 0; i < 1000; i++) {
      const r = await provider.evaluate(CANARY_FLAG, { kind: 'user', key: `probe-${i}`, attributes: {} });
      if (r.value === 'true') return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`the flags file change (${CANARY_FLAG} on) was not picked up within 10 s`);
}
