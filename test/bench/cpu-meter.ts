import { readdirSync, readFileSync } from 'node:fs';

/** CPU seconds (user + system) of every process whose command is `comm`, with its reaped children (ended backends count in the postmaster), from /proc (Linux). */
export function processCpuSeconds(comm: string): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      if (stat.slice(stat.indexOf('(') + 1, close) !== comm) continue;
      const f = stat.slice(close + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks / 100;
}

/** CPU seconds this process and the Postgres cluster spent since `cpuMark()`. */
export interface CpuSpent {
  readonly node: number;
  readonly postgres: number;
}

/** Starts measuring; the returned function says what was spent since, e.g. "node 1.3 s + postgres 2.6 s". */
export function cpuMark(): () => CpuSpent {
  const pg0 = processCpuSeconds('postgres');
  const n0 = process.cpuUsage();
  return () => {
    const n = process.cpuUsage(n0);
    return { node: (n.user + n.system) / 1e6, postgres: processCpuSeconds('postgres') - pg0 };
  };
}

export const formatCpu = (c: CpuSpent): string => `node ${c.node.toFixed(1)} s + postgres ${c.postgres.toFixed(1)} s`;
