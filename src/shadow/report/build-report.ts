import type { DiffEntry } from '../compare/diff-entry.js';
import type { NoiseThresholds } from '../noise/noise-model.js';
import { NOISE_THRESHOLDS, fieldRates, isNoise, noiseFieldsOf, noiseOnlyMismatches } from '../noise/noise-model.js';
import type { EndpointSnapshot, ShadowRecorder } from '../record/shadow-record.js';
import { COUNTER } from '../record/shadow-record.js';
import type { ServiceLabel } from '../shadow-policy.js';

export interface FieldReport {
  readonly field: string;
  /** Comparisons in which the candidate differed from the primary on this field. */
  readonly count: number;
  readonly rate: number;
  /** Secondary comparisons (same service twice) in which this field differed. */
  readonly secondaryCount: number;
  readonly secondaryRate: number;
  readonly noise: boolean;
  readonly example: DiffEntry | null;
}

interface Totals {
  readonly compared: number;
  readonly matched: number;
  /** Mismatches whose every differing field is noise. */
  readonly noiseOnly: number;
  /** Null when nothing was compared. */
  readonly matchRate: number | null;
  readonly noiseAdjustedMatchRate: number | null;
  readonly errors: Readonly<Record<string, number>>;
  readonly skipped: Readonly<Record<string, number>>;
  /** Copies never sent or never answered: total, and by reason (`queue-full`, `overload`, `worker-failed`). */
  readonly dropped: number;
  readonly droppedBy: Readonly<Record<string, number>>;
}

export interface EndpointReport extends Totals {
  readonly endpoint: string;
  readonly secondaryCompared: number;
  readonly samplesStored: number;
  readonly topFields: readonly FieldReport[];
}

export interface RouteReport extends Totals {
  readonly route: string;
  /** `shadow`: legacy answers, new is the candidate; `live`: the reverse. */
  readonly mode: 'shadow' | 'live';
  readonly primary: ServiceLabel;
  readonly candidate: ServiceLabel;
  readonly endpoints: readonly EndpointReport[];
}

export interface ShadowReport {
  readonly generatedAt: string;
  readonly noiseThresholds: NoiseThresholds;
  readonly routes: readonly RouteReport[];
}

export interface ReportOptions {
  readonly route?: string;
  /** Fields listed per endpoint (default 10). */
  readonly top?: number;
  readonly thresholds?: NoiseThresholds;
  readonly now?: () => number;
}

const rate = (num: number, den: number): number | null => (den > 0 ? num / den : null);

function prefixed(counters: Readonly<Record<string, number>>, prefix: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(counters)) if (k.startsWith(prefix) && v > 0) out[k.slice(prefix.length)] = v;
  return out;
}

const rank = (field: string): number => (field === 'status' ? 0 : field.startsWith('headers.') ? 1 : 2);

function endpointReport(snap: EndpointSnapshot, top: number, t: NoiseThresholds): EndpointReport {
  const c = snap.counters;
  const compared = c[COUNTER.compared] ?? 0;
  const matched = c[COUNTER.matched] ?? 0;
  const secondary = c[COUNTER.secondary] ?? 0;
  const noise = noiseFieldsOf(snap, t);
  const noiseOnly = noiseOnlyMismatches(snap, noise);
  const fields: FieldReport[] = Object.entries(snap.fields)
    .filter(([, f]) => f.candidateDiffs > 0)
    .map(([field, f]) => {
      const r = fieldRates(f, compared, secondary);
      return { field, count: f.candidateDiffs, rate: r.candidateRate, secondaryCount: f.secondaryDiffs, secondaryRate: r.secondaryRate, noise: isNoise(f, compared, secondary, t), example: f.example };
    })
    // Real differences first (most frequent on top), learned noise after them; on a tie the
    // status outranks headers, which outrank body fields (a 500 explains its body).
    .sort((a, b) => Number(a.noise) - Number(b.noise) || b.count - a.count || rank(a.field) - rank(b.field) || a.field.localeCompare(b.field));
  return {
    endpoint: snap.endpoint,
    compared,
    matched,
    noiseOnly,
    matchRate: rate(matched, compared),
    noiseAdjustedMatchRate: rate(matched + noiseOnly, compared),
    errors: prefixed(c, 'error:'),
    skipped: prefixed(c, 'skipped:'),
    dropped: total(prefixed(c, 'dropped:')),
    droppedBy: prefixed(c, 'dropped:'),
    secondaryCompared: secondary,
    samplesStored: snap.samplesStored,
    topFields: fields.slice(0, top),
  };
}

const total = (r: Readonly<Record<string, number>>): number => Object.values(r).reduce((a, b) => a + b, 0);

function sumRecords(list: readonly Readonly<Record<string, number>>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of list) for (const [k, v] of Object.entries(r)) out[k] = (out[k] ?? 0) + v;
  return out;
}

/**
 * Aggregates a recorder's snapshot per route and endpoint. Noise is classified at report time
 * from the stored counts, so a field learned as noise later also adjusts earlier comparisons.
 * Used by the admin endpoint `GET /shadow/report` and the CLI `ficus shadow report`.
 */
export async function buildShadowReport(recorder: ShadowRecorder, options: ReportOptions = {}): Promise<ShadowReport> {
  const t = options.thresholds ?? NOISE_THRESHOLDS;
  const top = options.top ?? 10;
  const snaps = await recorder.snapshot(options.route === undefined ? {} : { route: options.route });
  const byRoute = new Map<string, EndpointSnapshot[]>();
  for (const s of snaps) {
    const list = byRoute.get(s.route);
    if (list) list.push(s);
    else byRoute.set(s.route, [s]);
  }
  const routes: RouteReport[] = [...byRoute.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([route, list]) => {
      const endpoints = list.map((s) => endpointReport(s, top, t)).sort((a, b) => b.compared - a.compared || a.endpoint.localeCompare(b.endpoint));
      const compared = endpoints.reduce((n, e) => n + e.compared, 0);
      const matched = endpoints.reduce((n, e) => n + e.matched, 0);
      const noiseOnly = endpoints.reduce((n, e) => n + e.noiseOnly, 0);
      const roles = list[0].roles;
      return {
        route,
        mode: roles.primary === 'legacy' ? 'shadow' : 'live',
        primary: roles.primary,
        candidate: roles.candidate,
        compared,
        matched,
        noiseOnly,
        matchRate: rate(matched, compared),
        noiseAdjustedMatchRate: rate(matched + noiseOnly, compared),
        errors: sumRecords(endpoints.map((e) => e.errors)),
        skipped: sumRecords(endpoints.map((e) => e.skipped)),
        dropped: endpoints.reduce((n, e) => n + e.dropped, 0),
        droppedBy: sumRecords(endpoints.map((e) => e.droppedBy)),
        endpoints,
      } satisfies RouteReport;
    });
  return { generatedAt: new Date((options.now ?? Date.now)()).toISOString(), noiseThresholds: t, routes };
}
