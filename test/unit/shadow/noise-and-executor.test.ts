import { describe, expect, it } from 'vitest';
import { BoundedExecutor } from '../../../src/shadow/bounded-executor.js';
import { BoundedCopy } from '../../../src/shadow/bounded-copy.js';
import { createEventLoopProbe } from '../../../src/shadow/load-probe.js';
import { isNoise, noiseFieldsOf, noiseOnlyMismatches } from '../../../src/shadow/noise/noise-model.js';
import type { EndpointSnapshot } from '../../../src/shadow/record/shadow-record.js';

const stat = (candidateDiffs: number, secondaryDiffs: number) => ({ candidateDiffs, secondaryDiffs, example: null, secondaryExample: null });

describe('noise model', () => {
  const t = { minSecondarySamples: 10, ratio: 0.5 };

  it('calls a field noise when it differs between two calls of one service about as often', () => {
    expect(isNoise(stat(100, 10), 100, 10, t)).toBe(true); // 100% vs 100%
    expect(isNoise(stat(100, 5), 100, 10, t)).toBe(true); // 50% >= 0.5 x 100%
    expect(isNoise(stat(100, 4), 100, 10, t)).toBe(false); // 40% < 50%
    expect(isNoise(stat(100, 0), 100, 10, t)).toBe(false); // deterministic: a real difference
    expect(isNoise(stat(100, 9), 100, 9, t)).toBe(false); // not enough secondary samples yet
  });

  it('counts mismatches whose every field is noise for the adjusted match rate', () => {
    const snap: EndpointSnapshot = {
      route: 'r', endpoint: 'GET /x', roles: { primary: 'legacy', candidate: 'new' },
      counters: { compared: 20, matched: 0, secondary: 10 },
      fields: { '$.ts': stat(20, 10), '$.price': stat(5, 0) },
      signatures: [{ fields: ['$.ts'], count: 15 }, { fields: ['$.price', '$.ts'], count: 5 }],
      samplesStored: 0,
    };
    const noise = noiseFieldsOf(snap, t);
    expect([...noise]).toEqual(['$.ts']);
    expect(noiseOnlyMismatches(snap, noise)).toBe(15);
  });
});

describe('BoundedExecutor', () => {
  it('runs up to the concurrency, queues up to the queue size and refuses the rest', async () => {
    const ex = new BoundedExecutor(2, 1);
    const gates: (() => void)[] = [];
    const started: number[] = [];
    const task = (i: number) => () => new Promise<void>((resolve) => { started.push(i); gates.push(resolve); });
    expect([ex.tryRun(task(1)), ex.tryRun(task(2)), ex.tryRun(task(3)), ex.tryRun(task(4))]).toEqual([true, true, true, false]);
    expect(started).toEqual([1]);
    expect(ex.depth).toBe(2);
    const idle = ex.idle();
    gates[0]();
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([1, 2]);
    gates[1]();
    await new Promise((r) => setImmediate(r));
    gates[2]();
    await idle;
    expect(started).toEqual([1, 2, 3]);
    expect(ex.inFlight).toBe(0);
  });

  it('reports a rejecting task as a bug and keeps going', async () => {
    const bugs: unknown[] = [];
    const ex = new BoundedExecutor(1, 1, (e) => bugs.push(e));
    ex.tryRun(() => Promise.reject(new Error('boom')));
    ex.tryRun(() => { throw new Error('sync boom'); });
    await ex.idle();
    expect(bugs.map((e) => (e as Error).message)).toEqual(['boom', 'sync boom']);
  });
});

describe('BoundedCopy', () => {
  it('keeps chunks up to the limit and gives up past it', () => {
    const ok = new BoundedCopy(6);
    ok.push(Buffer.from('abc'));
    ok.push(Buffer.from('def'));
    expect(ok.result()).toEqual(Buffer.from('abcdef'));
    const big = new BoundedCopy(5);
    big.push(Buffer.from('abc'));
    big.push(Buffer.from('def'));
    big.push(Buffer.from('g'));
    expect(big.result()).toBe('too-large');
  });

  it('hands a body that came in one chunk over as that chunk, without copying it', () => {
    const chunk = Buffer.from('{"id":1}');
    const one = new BoundedCopy(100);
    one.push(chunk);
    expect(one.result()).toBe(chunk);
  });
});

describe('createEventLoopProbe', () => {
  it('reads event-loop utilization between 0 and 1 once a window has passed', async () => {
    const probe = createEventLoopProbe(10);
    expect(probe.utilization()).toBe(0);
    const until = Date.now() + 15;
    while (Date.now() < until) { /* keep the loop busy for one window */ }
    await new Promise<void>((resolve) => {
      const poll = () => (probe.utilization() > 0 ? resolve() : setTimeout(poll, 5));
      poll();
    });
    expect(probe.utilization()).toBeGreaterThan(0);
    expect(probe.utilization()).toBeLessThanOrEqual(1);
    probe.close();
  });
});
