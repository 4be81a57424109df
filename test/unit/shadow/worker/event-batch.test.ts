import { describe, expect, it } from 'vitest';
import type { ComparisonRecord } from '../../../../src/shadow/record/shadow-record.js';
import { MATCHED } from '../../../../src/shadow/record/shadow-record.js';
import { EventBatch } from '../../../../src/shadow/worker/event-batch.js';

const roles = { primary: 'legacy', candidate: 'new' } as const;
const match = (endpoint: string, at: number): ComparisonRecord => ({ route: 'r', endpoint, roles, at, outcome: MATCHED, sample: null });
const mismatch = (at: number): ComparisonRecord => ({
  route: 'r', endpoint: 'GET /a', roles, at, sample: null,
  outcome: { kind: 'compared', diffs: [{ path: '$.x', field: '$.x', kind: 'changed', primary: 1, candidate: 2 }] },
});

describe('worker event batch', () => {
  it('sends a run of matches as one event with its count, in order with the events around it', () => {
    const b = new EventBatch();
    b.comparison(match('GET /a', 1));
    b.comparison(match('GET /a', 2));
    b.comparison(match('GET /a', 3));
    b.comparison(mismatch(4));
    b.comparison(match('GET /a', 5));
    b.comparison(match('GET /b', 6));
    b.push({ t: 'dropped', route: 'r', endpoint: 'GET /b', roles, reason: 'queue-full' });
    b.comparison(match('GET /b', 7));
    b.comparison({ ...match('GET /b', 8), roles: { primary: 'new', candidate: 'legacy' } });
    expect(b.size).toBe(9);
    const events = b.take();
    expect(events.map((e) => (e.t === 'matched' ? `${e.endpoint} x${e.n} @${e.at}` : e.t))).toEqual([
      'GET /a x3 @3', 'comparison', 'GET /a x1 @5', 'GET /b x1 @6', 'dropped', 'GET /b x1 @7', 'GET /b x1 @8',
    ]);
    expect(b.size).toBe(0);
    expect(b.take()).toEqual([]);
  });

  it('counts comparison results per route and result, sent after the events', () => {
    const b = new EventBatch();
    for (const result of ['match', 'match', 'mismatch', 'match'] as const) b.metricComparison('r', result);
    b.metricComparison('s', 'error');
    b.push({ t: 'metric-depth', route: 'r', depth: 3 });
    expect(b.take()).toEqual([
      { t: 'metric-depth', route: 'r', depth: 3 },
      { t: 'metric-comparison', route: 'r', result: 'match', n: 3 },
      { t: 'metric-comparison', route: 'r', result: 'mismatch', n: 1 },
      { t: 'metric-comparison', route: 's', result: 'error', n: 1 },
    ]);
    expect(b.take()).toEqual([]);
  });

  it('starts a new run after take(), never adding to an event already sent', () => {
    const b = new EventBatch();
    b.comparison(match('GET /a', 1));
    const first = b.take();
    b.comparison(match('GET /a', 2));
    expect(first).toEqual([expect.objectContaining({ t: 'matched', n: 1, at: 1 })]);
    expect(b.take()).toEqual([expect.objectContaining({ t: 'matched', n: 1, at: 2 })]);
  });

  it("sums the worker's garbage collections per kind, sent once per batch after the other counts", () => {
    const b = new EventBatch();
    b.gc('minor', 1, 0.001);
    b.metricComparison('r', 'match');
    b.gc('major', 1, 0.004);
    b.gc('minor', 1, 0.002);
    expect(b.size).toBe(4);
    const events = b.take();
    expect(events.slice(0, 1)).toEqual([{ t: 'metric-comparison', route: 'r', result: 'match', n: 1 }]);
    expect(events.slice(1)).toEqual([
      { t: 'metric-gc', kind: 'minor', n: 2, seconds: expect.closeTo(0.003, 9) },
      { t: 'metric-gc', kind: 'major', n: 1, seconds: 0.004 },
    ]);
    expect(b.take()).toEqual([]);
  });
});
