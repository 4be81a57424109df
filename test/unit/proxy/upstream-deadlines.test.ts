import { describe, expect, it } from 'vitest';
import type { DeadlineEntry, DeadlineKind } from '../../../src/proxy/upstream-deadlines.js';
import { DEADLINE_TICK_MS, UpstreamDeadlines } from '../../../src/proxy/upstream-deadlines.js';
import { ManualClock, systemClock } from '../../../src/util/clock.js';

/** An exchange stand-in that records the deadlines that fired. */
function entry(fired: string[], name: string, onFire?: (kind: DeadlineKind) => void): DeadlineEntry {
  return {
    deadlineAt: 0,
    deadlineKind: 'headers',
    listPrev: null,
    listNext: null,
    onDeadline: (kind) => {
      fired.push(`${name}:${kind}`);
      onFire?.(kind);
    },
  };
}

/** Deadlines on a manual clock (swept by hand in the tests) and the list of what fired. */
function manual(start = 0, onBug?: (err: unknown) => void) {
  const clock = new ManualClock(start);
  return { clock, d: new UpstreamDeadlines(clock, onBug), fired: [] as string[] };
}

describe('upstream deadlines', () => {
  it('fires an entry once its deadline has passed, with its kind, and only once', () => {
    const { clock, d, fired } = manual(1_000);
    const a = entry(fired, 'a');
    d.arm(a, 'headers', 100);
    clock.advance(99);
    d.sweep();
    expect(fired).toEqual([]);
    clock.advance(1);
    d.sweep();
    d.sweep();
    expect(fired).toEqual(['a:headers']);
    d.stop();
  });

  it('switches an armed entry to the body deadline and pushes it back on refresh', () => {
    const { clock, d, fired } = manual();
    const a = entry(fired, 'a');
    d.arm(a, 'headers', 100);
    clock.advance(50);
    d.arm(a, 'body', 100); // headers arrived: from now on the gap between chunks counts
    clock.advance(90);
    d.refresh(a, 100); // a chunk came
    clock.advance(90);
    d.sweep();
    expect(fired).toEqual([]);
    clock.advance(10);
    d.sweep();
    expect(fired).toEqual(['a:body']);
    d.stop();
  });

  it('never fires a disarmed entry, and a refresh does not arm it again', () => {
    const { clock, d, fired } = manual();
    const [a, b, c] = ['a', 'b', 'c'].map((n) => entry(fired, n));
    for (const e of [a, b, c]) d.arm(e, 'headers', 10);
    d.disarm(b);
    d.disarm(b);
    d.refresh(b, 10);
    clock.advance(10);
    d.sweep();
    expect(fired.sort()).toEqual(['a:headers', 'c:headers']);
    expect([a, b, c].every((e) => e.listPrev === null && e.listNext === null)).toBe(true);
    d.stop();
  });

  it('takes a timeout of 0 as none: the headers never time out, and a 0 body timeout disarms', () => {
    const { clock, d, fired } = manual();
    const [a, b] = ['a', 'b'].map((n) => entry(fired, n));
    d.arm(a, 'headers', 0);
    d.arm(b, 'headers', 10);
    d.arm(b, 'body', 0);
    d.refresh(b, 0);
    clock.advance(1_000_000);
    d.sweep();
    expect(fired).toEqual([]);
    d.stop();
  });

  it('reports a handler that throws and still fires the other entries', () => {
    const bugs: unknown[] = [];
    const { clock, d, fired } = manual(0, (err) => bugs.push(err));
    d.arm(entry(fired, 'a'), 'headers', 10);
    d.arm(entry(fired, 'bad', () => {
      throw new Error('boom');
    }), 'headers', 10);
    d.arm(entry(fired, 'c'), 'headers', 10);
    clock.advance(10);
    d.sweep();
    expect(fired.sort()).toEqual(['a:headers', 'bad:headers', 'c:headers']);
    expect(bugs).toEqual([new Error('boom')]);
    d.stop();
  });

  it('lets a firing entry arm another one (a fallback exchange), which waits for its own deadline', () => {
    const { clock, d, fired } = manual();
    const second = entry(fired, 'fallback');
    const first = entry(fired, 'first', () => d.arm(second, 'headers', 10));
    d.arm(first, 'headers', 10);
    clock.advance(10);
    d.sweep();
    expect(fired).toEqual(['first:headers']);
    clock.advance(10);
    d.sweep();
    expect(fired).toEqual(['first:headers', 'fallback:headers']);
    d.stop();
  });

  it('checks on its own, on a real clock, within a tick of the deadline', async () => {
    const d = new UpstreamDeadlines(systemClock);
    const fired: string[] = [];
    const started = performance.now();
    let at = 0;
    d.arm(entry(fired, 'a', () => (at = performance.now() - started)), 'headers', 30);
    for (let i = 0; i < 100 && fired.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(fired).toEqual(['a:headers']);
    expect(at).toBeGreaterThanOrEqual(29);
    expect(at).toBeLessThan(30 + DEADLINE_TICK_MS + 200);
    d.stop();
  });
});
