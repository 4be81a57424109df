/**
 * Route matching for 1,000 routes (goal: >= 1M matches/s). The peer in the same run is a linear
 * scan of precompiled RegExps, the usual way a hand-written router does it.
 */
import { parseRules } from '../../src/rules/load-rules.js';
import { compileRouteTable } from '../../src/rules/route-table.js';
import { normalizeTarget } from '../../src/proxy/request-path.js';
import { Agent } from 'undici';

export interface RouteMatchResult {
  readonly routes: number;
  readonly ficusPerSec: number;
  readonly ficusWithNormalizePerSec: number;
  readonly regexScanPerSec: number;
}

function rulesWith(n: number): string {
  const lines = ['version: 1', 'upstreams:', '  a: { url: http://127.0.0.1:1 }', 'routes:'];
  for (let i = 0; i < n; i++) {
    const kind = i % 4;
    const path = kind === 0 ? `/svc${i}/items/:id` : kind === 1 ? `/svc${i}/**` : kind === 2 ? `/api/v${i}/orders/*/lines` : `/svc${i}/a/b/c`;
    lines.push(`  - { name: r${i}, match: { path: "${path}"${i % 3 === 0 ? ', methods: [GET]' : ''} }, to: a }`);
  }
  lines.push('default: a');
  return lines.join('\n');
}

function toRegex(pattern: string): RegExp {
  const body = pattern
    .split('/')
    .map((s) => (s === '**' ? '.*' : s === '*' || s.startsWith(':') ? '[^/]+' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${body.replace(/\/\.\*$/, '(?:/.*)?')}$`);
}

export function runRouteMatchBench(n = 1000, iterations = 2_000_000): RouteMatchResult {
  const loaded = parseRules(rulesWith(n));
  if (!loaded.ok) throw new Error(loaded.problems.map((p) => p.message).join('\n'));
  const agent = new Agent();
  const table = compileRouteTable(loaded.value, 'bench', () => agent);
  const paths = Array.from({ length: 1024 }, (_, i) => {
    const r = (i * 7919) % n;
    const kind = r % 4;
    return kind === 0 ? `/svc${r}/items/${i}` : kind === 1 ? `/svc${r}/x/y/${i}` : kind === 2 ? `/api/v${r}/orders/${i}/lines` : `/svc${r}/a/b/c`;
  });
  const targets = paths.map((p) => normalizeTarget(p)).filter((t) => typeof t !== 'string');
  const headers = {};

  // warm-up, then measure: ficus matcher on pre-normalized paths
  let sink = 0;
  const measure = (fn: (i: number) => unknown): number => {
    for (let i = 0; i < 200_000; i++) fn(i);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) if (fn(i) !== null) sink++;
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    return iterations / secs;
  };
  const ficusPerSec = measure((i) => {
    const t = targets[i & 1023];
    return table.match('GET', 'example.com', headers, t.segs, t.segCount);
  });
  const ficusWithNormalizePerSec = measure((i) => {
    const t = normalizeTarget(paths[i & 1023]);
    return typeof t === 'string' ? null : table.match('GET', 'example.com', headers, t.segs, t.segCount);
  });
  const regexes = (loaded.value.routes ?? []).map((r) => ({ re: toRegex(r.match!.path!), methods: r.match?.methods ?? null }));
  const regexScanPerSec = measure((i) => {
    const path = paths[i & 1023];
    for (const r of regexes) if ((r.methods === null || r.methods.includes('GET')) && r.re.test(path)) return r;
    return null;
  }) ;
  void agent.close();
  if (sink === 0) throw new Error('nothing matched');
  return { routes: n, ficusPerSec, ficusWithNormalizePerSec, regexScanPerSec };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = runRouteMatchBench();
  const f = (x: number) => `${(x / 1e6).toFixed(2)}M/s`;
  console.log(`| matcher (${r.routes} routes) | matches/s | vs regex scan |`);
  console.log('| --- | --- | --- |');
  console.log(`| ficus route table | ${f(r.ficusPerSec)} | ${(r.ficusPerSec / r.regexScanPerSec).toFixed(1)}x |`);
  console.log(`| ficus, with path normalization | ${f(r.ficusWithNormalizePerSec)} | ${(r.ficusWithNormalizePerSec / r.regexScanPerSec).toFixed(1)}x |`);
  console.log(`| linear RegExp scan (peer) | ${f(r.regexScanPerSec)} | 1.0x |`);
}
