import type { DiffEntry } from '../compare/diff-entry.js';
import type { EndpointReport, ShadowReport } from './build-report.js';

const pct = (r: number | null): string => (r === null ? '–' : `${(r * 100).toFixed(1)}%`);

function counts(rec: Readonly<Record<string, number>>): string {
  const total = Object.values(rec).reduce((a, b) => a + b, 0);
  const parts = Object.entries(rec).map(([k, v]) => `${k} ${v}`);
  return parts.length === 0 ? '0' : `${total} (${parts.join(', ')})`;
}

function table(rows: readonly (readonly string[])[], indent: string): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => indent + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd());
}

function short(v: unknown): string {
  const s = v === null ? 'null' : typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 39)}…` : s;
}

export function describeDiff(d: DiffEntry | null): string {
  if (d === null) return '';
  switch (d.kind) {
    case 'missing': return `${d.path}: missing in candidate (was ${short(d.primary)})`;
    case 'extra': return `${d.path}: extra in candidate (${short(d.candidate)})`;
    case 'type': return `${d.path}: type ${short(d.primary)} → ${short(d.candidate)}`;
    case 'changed': return `${d.path}: ${short(d.primary)} → ${short(d.candidate)}`;
  }
}

function endpointLines(e: EndpointReport): string[] {
  const lines: string[] = [];
  if (e.topFields.length === 0) return lines;
  const rows: string[][] = [['FIELD', 'DIFFS', 'RATE', 'SECONDARY', 'NOISE', 'EXAMPLE']];
  for (const f of e.topFields) {
    rows.push([f.field, String(f.count), pct(f.rate), e.secondaryCompared > 0 ? pct(f.secondaryRate) : '–', f.noise ? 'noise' : '', describeDiff(f.example)]);
  }
  lines.push(...table(rows, '      '));
  return lines;
}

/** The report as a terminal table, per route then per endpoint with its top differing fields. */
export function renderShadowReport(report: ShadowReport): string {
  if (report.routes.length === 0) return 'No shadow comparisons recorded yet.\n';
  const out: string[] = [];
  for (const r of report.routes) {
    out.push(`route ${r.route} — ${r.mode} mode: primary ${r.primary}, candidate ${r.candidate}`);
    out.push(`  compared ${r.compared}, match ${pct(r.matchRate)}, noise-adjusted ${pct(r.noiseAdjustedMatchRate)}, errors ${counts(r.errors)}, skipped ${counts(r.skipped)}, dropped ${counts(r.droppedBy)}`);
    const rows: string[][] = [['ENDPOINT', 'COMPARED', 'MATCH', 'ADJUSTED', 'ERRORS', 'SKIPPED', 'DROPPED']];
    for (const e of r.endpoints) rows.push([e.endpoint, String(e.compared), pct(e.matchRate), pct(e.noiseAdjustedMatchRate), counts(e.errors), counts(e.skipped), counts(e.droppedBy)]);
    const epLines = table(rows, '  ');
    out.push(epLines[0]);
    r.endpoints.forEach((e, i) => {
      out.push(epLines[i + 1]);
      out.push(...endpointLines(e));
    });
    out.push('');
  }
  out.push(`noise: a field is noise when its difference rate between two calls of the same service is at least ${report.noiseThresholds.ratio}x its primary-vs-candidate rate, after at least ${report.noiseThresholds.minSecondarySamples} secondary comparisons.`);
  return `${out.join('\n')}\n`;
}
