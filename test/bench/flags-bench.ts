/**
 * Local flag evaluation throughput (not run by npm test): `npm run bench:flags`.
 *
 * Measures the per-request cost the router pays for a flag-decided route: the provider's
 * `evaluate` alone, and the decider (evaluate + variation → target + metric increment). Keys are
 * generated up front so string building is not measured.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlagDecider, compileRouteFlag } from '../../src/flags/flag-decider.js';
import type { FlagContext } from '../../src/flags/flag-provider.js';
import { LocalFlagProvider } from '../../src/flags/local/local-flag-provider.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createRegistry } from '../../src/observability/metrics.js';

const N = 2_000_000;
// Keys go through a Buffer so they are flat strings, like header values from Node's HTTP parser;
// a template literal would leave a rope (cons string) that charCodeAt walks more slowly.
const flat = (s: string) => Buffer.from(s).toString();
const contexts: FlagContext[] = Array.from({ length: 100_000 }, (_, i) => ({
  kind: 'user',
  key: flat(`user-${i}-${(i * 2654435761) >>> 0}`),
  attributes: { tenant: i % 7 === 0 ? 'acme' : null },
}));

function measure(name: string, fn: (ctx: FlagContext) => unknown): void {
  for (let i = 0; i < 200_000; i++) fn(contexts[i % contexts.length]); // warm up the JIT
  // CPU time of this process, not wall time: the machine is shared, and being descheduled is not
  // a cost of evaluation. (Wall time is printed too.)
  const cpu = process.cpuUsage();
  const wall = process.hrtime.bigint();
  let sink = 0;
  for (let i = 0; i < N; i++) if (fn(contexts[i % contexts.length]) !== null) sink++;
  const used = process.cpuUsage(cpu);
  const s = (used.user + used.system) / 1e6;
  const w = Number(process.hrtime.bigint() - wall) / 1e9;
  console.log(`${name.padEnd(44)} ${(N / s / 1e6).toFixed(2).padStart(6)} M evaluations/s of CPU  (${((s / N) * 1e9).toFixed(0)} ns each; wall ${((w / N) * 1e9).toFixed(0)} ns; ${sink === N ? 'all' : sink} answered)`);
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ficus-flags-bench-'));
  const file = join(dir, 'flags.yaml');
  await writeFile(file, [
    'flags:',
    '  rollout: { rollout: 20 }',
    '  targeted: { rollout: 20, allow: { attributes: { tenant: [acme] } }, deny: { keys: [user-1-0] } }',
    '  modes: { variations: [legacy, shadow, live, migrated], variation: live, fallthrough: shadow, rollout: 50 }',
  ].join('\n'));
  const provider = new LocalFlagProvider({ file, redis: null, logger: silentLogger(), watch: false });
  await provider.start();
  const decider = new FlagDecider(provider, { logger: silentLogger(), registry: createRegistry() });
  const route = compileRouteFlag('orders', { key: 'rollout', context: { key: 'header:x-user-id' }, variations: { true: 'orders', false: 'legacy' }, default: 'legacy' });

  console.log(`node ${process.version}, ${N.toLocaleString()} evaluations per case over ${contexts.length.toLocaleString()} distinct keys`);
  measure('evaluate: 20% rollout', (c) => provider.evaluate('rollout', c).value);
  measure('evaluate: deny + allow by attribute + rollout', (c) => provider.evaluate('targeted', c).value);
  measure('evaluate: mode flag, 50% rollout', (c) => provider.evaluate('modes', c).value);
  measure('evaluate: unknown flag', (c) => provider.evaluate('nope', c).reason);
  measure('decider: evaluate + map + count', (c) => (decider.decide(route, c) as { choice: string }).choice);
  await provider.close();
  await rm(dir, { recursive: true, force: true });
}

await main();
