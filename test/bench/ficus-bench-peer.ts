import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFicus } from '../../src/main.js';
import type { ShadowThread } from '../../src/main.js';
import { parseThreadPriority } from '../../src/shadow/worker/thread-priority.js';
import type { ThreadPriority } from '../../src/shadow/worker/thread-priority.js';
import { createLogger, logBufferFromEnv, logDestination } from '../../src/observability/logger.js';
import { startPeerStats } from './peer-stats.js';
import { announceReady, answerStats, forkPeer } from './proxy-bench-ipc.js';

/**
 * Child-process entry for the ficus benchmark targets:
 *   node ficus-bench-peer.js static|flag|shadow <upstream-url> [shared|idle] [node-http|canned]
 * ficus runs with 50 routes, the access log on (written to /dev/null by the logger `ficus start`
 * uses, so its cost is paid) and metrics on. The benched request matches a route in the middle of
 * the table.
 * - static: `to: bench`
 * - flag:   the same route decided by a local flag (50% rollout; both variations the upstream)
 * - shadow: mode shadow, every GET copied to a candidate and compared. The candidate is a second
 *   upstream process serving the same body, as a new service would be its own server: sharing the
 *   primary's upstream would double its load and charge that to the client's latency. With `idle`
 *   the candidate runs under SCHED_IDLE (see idleScheduling). `node-http` (the default) makes the
 *   candidate a node:http server like the upstream; `canned` answers with the same bytes from a
 *   net socket at about half the CPU (see startCannedUpstream).
 */
function rules(variant: string, upstreamUrl: string, candidateUrl: string, flagsFile: string): string {
  const lines = ['version: 1', 'upstreams:', `  bench: { url: ${upstreamUrl}, pool: 128 }`, `  candidate: { url: ${candidateUrl}, pool: 64 }`];
  if (variant === 'flag') lines.push(`flags: { provider: local, file: ${flagsFile} }`);
  lines.push('routes:');
  for (let i = 0; i < 50; i++) {
    if (i === 25) {
      lines.push('  - name: bench-route', '    match: { path: /api/users/:id, methods: [GET] }');
      if (variant === 'flag') {
        lines.push('    flag: { key: bench, context: { key: header:x-user-id }, variations: { "true": bench, "false": bench }, default: bench }');
      } else if (variant === 'shadow') {
        lines.push('    to: candidate', '    legacy: bench', '    mode: shadow', '    shadow: { sample: 1.0, queueSize: 10000, concurrency: 64 }');
      } else {
        lines.push('    to: bench');
      }
      continue;
    }
    lines.push(`  - { name: r${i}, match: { path: "/svc${i}/items/:id", methods: [GET, POST] }, to: bench }`);
  }
  lines.push('default: bench');
  return lines.join('\n') + '\n';
}

/**
 * Puts every thread of the candidate process under SCHED_IDLE (Linux `chrt --idle`): it then runs
 * only on CPU time no other process wants, as if it had a host of its own, and its work stops
 * competing with the load generator, the upstream and the proxy for the 2 shared cores. The proxy
 * still sends, reads and compares every copy. Exits the peer with the reason when chrt fails, so a
 * run never reports an "idle" figure measured with a normally scheduled candidate.
 */
function idleScheduling(pid: number): void {
  try {
    execFileSync('chrt', ['--idle', '--all-tasks', '--pid', '0', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    throw new Error(`could not put the candidate (pid ${pid}) under SCHED_IDLE with chrt: ${(err as Error).message}`);
  }
}

/** BENCH_SHADOW_THREAD=worker|main: where the shadow peer compares its copies (default worker, as `ficus start`). */
function shadowThreadFromEnv(): ShadowThread {
  const v = process.env.BENCH_SHADOW_THREAD ?? 'worker';
  if (v !== 'worker' && v !== 'main') throw new Error(`BENCH_SHADOW_THREAD must be worker or main, got ${JSON.stringify(v)}`);
  return v;
}

/** BENCH_SHADOW_PRIORITY=idle|0-19: the shadow worker thread's priority (default idle, as `ficus start`). */
function shadowPriorityFromEnv(): ThreadPriority {
  const v = process.env.BENCH_SHADOW_PRIORITY ?? 'idle';
  const p = parseThreadPriority(v);
  if (p === null) throw new Error(`BENCH_SHADOW_PRIORITY must be idle or a nice value 0-19, got ${JSON.stringify(v)}`);
  return p;
}

/** BENCH_SHADOW_RING_MIB=1-1024: the shadow worker's ring (default 16, as `ficus start`). */
function shadowRingBytesFromEnv(): number {
  const v = process.env.BENCH_SHADOW_RING_MIB ?? '16';
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 1024) throw new Error(`BENCH_SHADOW_RING_MIB must be a whole number of MiB from 1 to 1024, got ${JSON.stringify(v)}`);
  return n * 1024 * 1024;
}

async function main(): Promise<void> {
  const [variant, upstreamUrl, candidateScheduling = 'shared', candidateServer = 'node-http'] = process.argv.slice(2);
  if (!['static', 'flag', 'shadow'].includes(variant) || !upstreamUrl || !['shared', 'idle'].includes(candidateScheduling) || !['node-http', 'canned'].includes(candidateServer)) {
    throw new Error('usage: ficus-bench-peer.js static|flag|shadow <upstream-url> [shared|idle] [node-http|canned]');
  }
  const dir = mkdtempSync(join(tmpdir(), 'ficus-bench-'));
  const flagsFile = join(dir, 'flags.yaml');
  writeFileSync(flagsFile, 'flags:\n  bench:\n    on: true\n    rollout: 50\n');
  const candidate = variant === 'shadow' ? await forkPeer(new URL('./proxy-bench-peer-main.js', import.meta.url), [candidateServer === 'canned' ? 'canned-upstream' : 'upstream']) : null;
  if (candidate !== null && candidateScheduling === 'idle') idleScheduling(candidate.pid);
  const rulesFile = join(dir, 'rules.yaml');
  writeFileSync(rulesFile, rules(variant, upstreamUrl, candidate?.url ?? upstreamUrl, flagsFile));
  // As `ficus start` logs (createLogger's line format, logDestination): a synchronous write per
  // line, or with FICUS_LOG_BUFFER set, per block.
  const destination = logDestination('/dev/null', logBufferFromEnv(process.env.FICUS_LOG_BUFFER));
  const logger = createLogger({ level: 'info', destination });
  const ficus = await startFicus({ rulesFile, port: 0, adminPort: null, logger, watch: false, shadowThread: shadowThreadFromEnv(), shadowPriority: shadowPriorityFromEnv(), shadowRingBytes: shadowRingBytesFromEnv() });
  const stop = () => void ficus.close().then(async () => {
    await candidate?.close();
    process.exit(0);
  });
  process.once('SIGTERM', stop);
  process.once('disconnect', stop);
  const own = startPeerStats(ficus.registry, ['ficus_shadow_comparisons_total', 'ficus_shadow_dropped_total', 'ficus_shadow_worker_gc_total', 'ficus_shadow_worker_gc_seconds_total']);
  // Copies still in flight finish first, so each report covers the copies of the load before it
  // (and the warm-up's backlog is not left to spill into the first measured slice).
  answerStats(async () => {
    await ficus.shadow.idle();
    return { ficus: await own(), candidate: candidate === null ? null : await candidate.stats() };
  });
  announceReady(`http://127.0.0.1:${ficus.port}/api/users/42`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
