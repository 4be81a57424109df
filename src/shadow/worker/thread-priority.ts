import { execFileSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/**
 * How far the shadow worker thread yields to the threads that serve clients:
 * - `idle`: Linux's SCHED_IDLE policy. The thread runs only on CPU time no other thread wants, and a
 *   waking thread of the normal policy takes its CPU at once.
 * - a number: the nice value (0 as the main thread … 19 lowest) under the normal policy. Even at 19
 *   the scheduler may let the thread finish its time slice (a few ms) before a waking thread runs.
 */
export type ThreadPriority = 'idle' | number;

export const DEFAULT_THREAD_PRIORITY: ThreadPriority = 'idle';

/** `idle` or a whole number 0-19; null otherwise. */
export function parseThreadPriority(value: string): ThreadPriority | null {
  if (value === 'idle') return 'idle';
  if (!/^\d{1,2}$/.test(value)) return null;
  const n = Number(value);
  return n <= 19 ? n : null;
}

export function describeThreadPriority(p: ThreadPriority): string {
  return p === 'idle' ? 'SCHED_IDLE' : `nice ${p}`;
}

export type PriorityResult =
  /** `applied` says what the thread runs at; `fallback` why it is not what was asked, when it is not. */
  | { readonly ok: true; readonly tid: number; readonly applied: string; readonly fallback?: string }
  | { readonly ok: false; readonly reason: string };

/** The system calls behind lowerThread, apart so the fallback can be tested without them. */
export interface PriorityEffects {
  setNice(tid: number, nice: number): void;
  setIdlePolicy(tid: number): void;
}

/**
 * Node has no binding for sched_setscheduler, so SCHED_IDLE is set by util-linux's chrt, once per
 * worker start. Given a thread id (without --all-tasks) it changes that thread only. Moving a thread
 * to SCHED_IDLE needs no privilege.
 */
const systemEffects: PriorityEffects = {
  setNice: (tid, nice) => setPriority(tid, nice),
  setIdlePolicy: (tid) => {
    try {
      execFileSync('chrt', ['--idle', '--pid', '0', String(tid)], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 5_000 });
    } catch (err) {
      const e = err as Error & { stderr?: Buffer };
      const detail = e.stderr && e.stderr.length > 0 ? e.stderr.toString().trim() : e.message;
      throw new Error(`chrt --idle failed: ${detail}`);
    }
  },
};

/**
 * Lowers one thread's priority. For `idle` the thread first goes to nice 19, so that when chrt is
 * missing or refused it still yields as far as the normal policy allows; the result says so.
 */
export function lowerThread(tid: number, priority: ThreadPriority, effects: PriorityEffects): PriorityResult {
  if (priority !== 'idle' && (!Number.isInteger(priority) || priority < 0 || priority > 19)) {
    return { ok: false, reason: `priority must be idle or an integer nice value from 0 to 19, got ${priority}` };
  }
  const nice = priority === 'idle' ? 19 : priority;
  try {
    if (nice > 0) effects.setNice(tid, nice);
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  if (priority !== 'idle') return { ok: true, tid, applied: describeThreadPriority(nice) };
  try {
    effects.setIdlePolicy(tid);
    return { ok: true, tid, applied: 'SCHED_IDLE' };
  } catch (err) {
    return { ok: true, tid, applied: 'nice 19', fallback: (err as Error).message };
  }
}

/**
 * Lowers the calling thread's priority without touching the rest of the process. On Linux,
 * setpriority() and sched_setscheduler() given a thread id apply to that thread alone; the id is the
 * last part of /proc/thread-self.
 */
export function lowerThisThread(priority: ThreadPriority, effects: PriorityEffects = systemEffects): PriorityResult {
  if (process.platform !== 'linux') return { ok: false, reason: `per-thread priorities need Linux, this is ${process.platform}` };
  let tid: number;
  try {
    tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch (err) {
    return { ok: false, reason: `could not read this thread's id: ${(err as Error).message}` };
  }
  if (!Number.isInteger(tid) || tid <= 0) return { ok: false, reason: "could not read this thread's id from /proc/thread-self" };
  return lowerThread(tid, priority, effects);
}
