import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

export type PriorityResult = { readonly ok: true; readonly tid: number } | { readonly ok: false; readonly reason: string };

/**
 * Sets the calling thread's nice value (0 normal … 19 lowest) without touching the rest of the
 * process. On Linux, setpriority() given a thread id applies to that thread alone; the id is the
 * last part of /proc/thread-self. Raising one's own nice value needs no privilege.
 */
export function niceThisThread(nice: number): PriorityResult {
  if (!Number.isInteger(nice) || nice < 0 || nice > 19) return { ok: false, reason: `nice must be an integer from 0 to 19, got ${nice}` };
  if (process.platform !== 'linux') return { ok: false, reason: `per-thread priorities need Linux, this is ${process.platform}` };
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid) || tid <= 0) return { ok: false, reason: 'could not read this thread\'s id from /proc/thread-self' };
    if (nice > 0) setPriority(tid, nice);
    return { ok: true, tid };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
}
