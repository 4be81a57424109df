import { readFileSync, readdirSync } from 'node:fs';
import { PerformanceObserver, constants as perfConstants, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { EventLoopUtilization } from 'node:perf_hooks';
import type { Registry } from '../../src/observability/metrics.js';

/**
 * What a benchmark peer reports about its own process since the previous report: how busy and how
 * late its event loop was, how long garbage collection paused it, and (for ficus) its shadow
 * counters. The bench prints these beside the latencies, so a p99 can be told apart from a loop
 * stall, a GC pause, dropped copies or CPU stolen by other processes.
 */
export interface PeerStats {
  readonly windowMs: number;
  /** Share of the window the event loop was busy (Node's ELU). */
  readonly loopUtilization: number;
  /** Event-loop delay beyond the 10 ms sampling timer: p50, p99, max in ms. */
  readonly loopDelayMs: { readonly p50: number; readonly p99: number; readonly max: number };
  /** Process CPU time in the window (user + system), ms: more than windowMs means more than one core. */
  readonly cpuMs: number;
  /**
   * CPU time of the main thread alone, ms (Linux schedstat; null elsewhere): the thread that serves
   * clients, apart from worker threads such as the shadow worker and V8's helpers.
   */
  readonly mainThreadCpuMs: number | null;
  /**
   * CPU time of the other threads at the main thread's priority (nice 0), ms: V8's platform threads
   * (concurrent GC and compilation for every isolate, the shadow worker's included) and libuv's pool.
   * null where /proc is unreadable.
   */
  readonly helperThreadsCpuMs: number | null;
  /** All pauses, and apart the full (mark-compact) ones: their count and longest pause. */
  readonly gc: { readonly count: number; readonly totalMs: number; readonly maxMs: number; readonly fullCount: number; readonly fullMaxMs: number };
  /** Counter values by `name{labels}`, for the counters asked for (totals, not differences). */
  readonly counters: Readonly<Record<string, number>>;
}

const RESOLUTION_MS = 10;

/** Nanoseconds the main thread has run, from /proc/self/task/<pid>/schedstat; null when unreadable. */
function mainThreadNs(): number | null {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return null;
  }
}

/**
 * Nanoseconds run by each thread other than the main one whose nice value is 0, by thread id. A
 * thread that ends between two readings drops out of the sum, so the figure is a lower bound.
 */
function helperThreadsNs(): Map<number, number> | null {
  try {
    const out = new Map<number, number>();
    for (const name of readdirSync('/proc/self/task')) {
      const tid = Number(name);
      if (tid === process.pid) continue;
      try {
        const stat = readFileSync(`/proc/self/task/${name}/stat`, 'utf8');
        // fields after the parenthesised command: state is field 3, nice field 19
        const nice = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
        if (nice !== 0) continue;
        out.set(tid, Number(readFileSync(`/proc/self/task/${name}/schedstat`, 'utf8').split(' ')[0]));
      } catch {
        // the thread ended while being read
      }
    }
    return out;
  } catch {
    return null;
  }
}

function helperDeltaMs(now: Map<number, number> | null, before: Map<number, number> | null): number | null {
  if (now === null || before === null) return null;
  let ns = 0;
  for (const [tid, v] of now) ns += v - (before.get(tid) ?? 0);
  return ns / 1e6;
}

export function startPeerStats(registry: Registry | null, counterNames: readonly string[]): () => Promise<PeerStats> {
  const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  delay.enable();
  const none = () => ({ count: 0, totalMs: 0, maxMs: 0, fullCount: 0, fullMaxMs: 0 });
  let gc = none();
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gc.count++;
      gc.totalMs += e.duration;
      if (e.duration > gc.maxMs) gc.maxMs = e.duration;
      if ((((e as { detail?: { kind?: number } }).detail?.kind ?? 0) & perfConstants.NODE_PERFORMANCE_GC_MAJOR) !== 0) {
        gc.fullCount++;
        if (e.duration > gc.fullMaxMs) gc.fullMaxMs = e.duration;
      }
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  let since = performance.now();
  let elu: EventLoopUtilization = performance.eventLoopUtilization();
  let cpu = process.cpuUsage();
  let mainNs = mainThreadNs();
  let helpersNs = helperThreadsNs();
  const ms = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
  return async () => {
    const now = performance.now();
    const counters: Record<string, number> = {};
    for (const name of counterNames) {
      const metric = registry?.getSingleMetric(name);
      if (!metric) continue;
      for (const v of (await metric.get()).values) {
        const labels = Object.entries(v.labels).map(([k, x]) => `${k}=${String(x)}`).join(',');
        counters[`${name}{${labels}}`] = v.value;
      }
    }
    const stats: PeerStats = {
      windowMs: now - since,
      loopUtilization: performance.eventLoopUtilization(elu).utilization,
      loopDelayMs: { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) },
      cpuMs: (() => {
        const d = process.cpuUsage(cpu);
        return (d.user + d.system) / 1000;
      })(),
      mainThreadCpuMs: (() => {
        const n = mainThreadNs();
        return n === null || mainNs === null ? null : (n - mainNs) / 1e6;
      })(),
      helperThreadsCpuMs: (() => {
        const n = helperThreadsNs();
        const d = helperDeltaMs(n, helpersNs);
        helpersNs = n;
        return d;
      })(),
      gc,
      counters,
    };
    mainNs = mainThreadNs();
    since = now;
    elu = performance.eventLoopUtilization();
    cpu = process.cpuUsage();
    gc = none();
    delay.reset();
    return stats;
  };
}

/** What the peers reported after the slices of one side of an interleaved run. */
export interface SideStats {
  /** Responses measured on this side. */
  requests: number;
  readonly proxy: PeerStats[];
  readonly candidate: PeerStats[];
  /** The proxy's counters before the first slice, so the line shows this run's counts only. */
  countersBefore: Readonly<Record<string, number>>;
}

export function newSideStats(): SideStats {
  return { requests: 0, proxy: [], candidate: [], countersBefore: {} };
}

const sum = (xs: readonly PeerStats[], f: (s: PeerStats) => number) => xs.reduce((a, s) => a + f(s), 0);
const max = (xs: readonly PeerStats[], f: (s: PeerStats) => number) => xs.reduce((a, s) => Math.max(a, f(s)), 0);

/**
 * `ficus_shadow_dropped_total{route=r,reason=overload}` → `dropped overload`;
 * `ficus_shadow_worker_gc_seconds_total{kind=major}` → `worker_gc_seconds major`.
 */
const counterLabel = (key: string) => key.replace(/^ficus_shadow_(\w+)_total\{.*?(?:result|reason|kind)=([\w-]+).*\}$/, '$1 $2');

/** This run's count per counter (the last report minus the one before the run). */
export function counterDeltas(side: SideStats): Record<string, number> {
  const last = side.proxy.at(-1)?.counters ?? {};
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(last)) if (v - (side.countersBefore[k] ?? 0) > 0) out[counterLabel(k)] = v - (side.countersBefore[k] ?? 0);
  return out;
}

/**
 * One line per side: the proxy's CPU per request, its busiest window's event-loop utilization,
 * its worst loop delay and GC pause, the candidate's CPU, and this run's shadow counters.
 */
export function describeSide(label: string, side: SideStats): string {
  const p = side.proxy;
  const perReq = (xs: readonly PeerStats[]) => ((1000 * sum(xs, (s) => s.cpuMs)) / Math.max(1, side.requests)).toFixed(0);
  const mainMs = p.every((s) => s.mainThreadCpuMs !== null) ? sum(p, (s) => s.mainThreadCpuMs ?? 0) : null;
  const helperMs = p.every((s) => s.helperThreadsCpuMs !== null) ? sum(p, (s) => s.helperThreadsCpuMs ?? 0) : null;
  const us = (ms: number) => ((1000 * ms) / Math.max(1, side.requests)).toFixed(0);
  const threads = [mainMs === null ? null : `main thread ${us(mainMs)}`, helperMs === null ? null : `helpers at nice 0 ${us(helperMs)}`].filter((x) => x !== null);
  const parts = [
    `proxy CPU ${perReq(p)} µs/req` + (threads.length === 0 ? '' : ` (${threads.join(', ')})`),
    `loop busy ≤ ${(100 * max(p, (s) => s.loopUtilization)).toFixed(0)}%`,
    `loop delay p99 ≤ ${max(p, (s) => s.loopDelayMs.p99).toFixed(1)} ms, max ${max(p, (s) => s.loopDelayMs.max).toFixed(1)} ms`,
    `GC ${sum(p, (s) => s.gc.totalMs).toFixed(0)} ms, max pause ${max(p, (s) => s.gc.maxMs).toFixed(1)} ms (full GCs ${sum(p, (s) => s.gc.fullCount)}, max ${max(p, (s) => s.gc.fullMaxMs).toFixed(1)} ms)`,
  ];
  if (side.candidate.length > 0) parts.push(`candidate CPU ${perReq(side.candidate)} µs/req`);
  const deltas = counterDeltas(side);
  const counters = Object.entries(deltas).filter(([k]) => !k.startsWith('worker_gc')).map(([k, v]) => `${k} ${v}`);
  if (counters.length > 0) parts.push(counters.join(', '));
  // The shadow worker's own collections: count and pauses per kind.
  const gcs = Object.entries(deltas).filter(([k]) => k.startsWith('worker_gc ')).map(([k, n]) => {
    const kind = k.slice('worker_gc '.length);
    return `${kind} ${n} (${(1000 * (deltas[`worker_gc_seconds ${kind}`] ?? 0)).toFixed(0)} ms)`;
  });
  if (gcs.length > 0) parts.push(`worker GCs ${gcs.join(', ')}`);
  return `  ${label}: ${parts.join('; ')}`;
}
