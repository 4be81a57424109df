import { request } from 'undici';
import type { RouteReport, ShadowReport } from '../../src/shadow/report/build-report.js';

/**
 * What an operator does with curl on the admin port, done from the demo: reload or roll back the
 * rules, read the shadow report. Everything goes over HTTP so the demo shows the real API.
 */
export class AdminClient {
  constructor(readonly url: string) {}

  private async call(method: 'GET' | 'POST', path: string): Promise<{ status: number; body: unknown }> {
    const r = await request(`${this.url}${path}`, { method });
    const text = await r.body.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* metrics are text */
    }
    return { status: r.statusCode, body };
  }

  /** POST /rules/reload: 200 when the file loaded, 422 with located problems otherwise. */
  async reload(): Promise<void> {
    const r = await this.call('POST', '/rules/reload');
    if (r.status !== 200) throw new Error(`POST /rules/reload answered ${r.status}: ${JSON.stringify(r.body)}`);
  }

  /** POST /rules/rollback: writes the previous good version back to the rules file and loads it. */
  async rollback(): Promise<{ status: number; body: unknown }> {
    return this.call('POST', '/rules/rollback');
  }

  async rulesVersion(): Promise<string> {
    const r = await this.call('GET', '/rules');
    return String((r.body as { version?: unknown }).version);
  }

  async shadowRoute(route: string): Promise<RouteReport | null> {
    const r = await this.call('GET', `/shadow/report?route=${encodeURIComponent(route)}`);
    if (r.status !== 200) throw new Error(`GET /shadow/report answered ${r.status}`);
    return (r.body as ShadowReport).routes.find((x) => x.route === route) ?? null;
  }

  /** Sum of `ficus_requests_total` for one route, by upstream (what Prometheus would scrape). */
  async requestsByUpstream(route: string): Promise<Record<string, number>> {
    const r = await this.call('GET', '/metrics');
    const out: Record<string, number> = {};
    for (const line of String(r.body).split('\n')) {
      const m = /^ficus_requests_total\{([^}]*)\} (\d+(?:\.\d+)?)$/.exec(line);
      if (!m) continue;
      const labels = Object.fromEntries([...m[1].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
      if (labels.route !== route) continue;
      out[labels.upstream] = (out[labels.upstream] ?? 0) + Number(m[2]);
    }
    return out;
  }
}

/** Counters of one route's shadow comparisons, summed over its endpoints. */
export interface ShadowTotals {
  readonly compared: number;
  readonly matched: number;
  readonly errors: number;
  readonly dropped: number;
  readonly skipped: number;
  readonly fields: Readonly<Record<string, { count: number; example: unknown }>>;
}

export function shadowTotals(r: RouteReport | null): ShadowTotals {
  const fields: Record<string, { count: number; example: unknown }> = {};
  if (r === null) return { compared: 0, matched: 0, errors: 0, dropped: 0, skipped: 0, fields };
  for (const e of r.endpoints) {
    for (const f of e.topFields) fields[f.field] = { count: (fields[f.field]?.count ?? 0) + f.count, example: fields[f.field]?.example ?? f.example };
  }
  const sum = (x: Readonly<Record<string, number>>) => Object.values(x).reduce((a, b) => a + b, 0);
  return { compared: r.compared, matched: r.matched, errors: sum(r.errors), dropped: r.dropped, skipped: sum(r.skipped), fields };
}

/** The difference between two readings of the cumulative counters: what one stage added. */
export function shadowDelta(before: ShadowTotals, after: ShadowTotals): ShadowTotals & { topField: { field: string; count: number; example: unknown } | null } {
  const fields: Record<string, { count: number; example: unknown }> = {};
  for (const [k, v] of Object.entries(after.fields)) {
    const count = v.count - (before.fields[k]?.count ?? 0);
    if (count > 0) fields[k] = { count, example: v.example };
  }
  const top = Object.entries(fields).sort((a, b) => b[1].count - a[1].count)[0];
  return {
    compared: after.compared - before.compared,
    matched: after.matched - before.matched,
    errors: after.errors - before.errors,
    dropped: after.dropped - before.dropped,
    skipped: after.skipped - before.skipped,
    fields,
    topField: top ? { field: top[0], count: top[1].count, example: top[1].example } : null,
  };
}
