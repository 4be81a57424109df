import { describe, expect, it } from 'vitest';
import type { PriorityEffects } from '../../../../src/shadow/worker/thread-priority.js';
import { describeThreadPriority, lowerThread, parseThreadPriority } from '../../../../src/shadow/worker/thread-priority.js';

/** Effects that record what they were asked to do, failing where told. */
function effects(fail: { nice?: string; idle?: string } = {}): PriorityEffects & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    setNice: (tid, nice) => {
      if (fail.nice !== undefined) throw new Error(fail.nice);
      calls.push(`nice ${tid} ${nice}`);
    },
    setIdlePolicy: (tid) => {
      if (fail.idle !== undefined) throw new Error(fail.idle);
      calls.push(`idle ${tid}`);
    },
  };
}

describe('thread priority', () => {
  it('parses idle and whole nice values 0-19, nothing else', () => {
    expect(parseThreadPriority('idle')).toBe('idle');
    expect(parseThreadPriority('0')).toBe(0);
    expect(parseThreadPriority('19')).toBe(19);
    for (const bad of ['20', '-1', '1.5', '', 'IDLE', ' 3', '1e1', '123']) expect(parseThreadPriority(bad)).toBeNull();
    expect(describeThreadPriority('idle')).toBe('SCHED_IDLE');
    expect(describeThreadPriority(7)).toBe('nice 7');
  });

  it('sets nice 19 and then SCHED_IDLE for idle', () => {
    const fx = effects();
    expect(lowerThread(42, 'idle', fx)).toEqual({ ok: true, tid: 42, applied: 'SCHED_IDLE' });
    expect(fx.calls).toEqual(['nice 42 19', 'idle 42']);
  });

  it('stays at nice 19 and says why when SCHED_IDLE cannot be set', () => {
    const fx = effects({ idle: 'chrt --idle failed: spawnSync chrt ENOENT' });
    expect(lowerThread(42, 'idle', fx)).toEqual({ ok: true, tid: 42, applied: 'nice 19', fallback: 'chrt --idle failed: spawnSync chrt ENOENT' });
    expect(fx.calls).toEqual(['nice 42 19']);
  });

  it('sets a nice value alone, and nothing for 0', () => {
    const fx = effects();
    expect(lowerThread(42, 12, fx)).toEqual({ ok: true, tid: 42, applied: 'nice 12' });
    expect(lowerThread(42, 0, fx)).toEqual({ ok: true, tid: 42, applied: 'nice 0' });
    expect(fx.calls).toEqual(['nice 42 12']);
  });

  it('reports a refused nice value and an out-of-range one without touching the thread', () => {
    expect(lowerThread(42, 'idle', effects({ nice: 'EACCES' }))).toEqual({ ok: false, reason: 'EACCES' });
    const fx = effects();
    expect(lowerThread(42, 20, fx)).toEqual({ ok: false, reason: 'priority must be idle or an integer nice value from 0 to 19, got 20' });
    expect(fx.calls).toEqual([]);
  });
});
