import { describe, expect, it } from 'vitest';
import type { ComparisonRecord, MismatchSample } from '../../../../src/shadow/record/shadow-record.js';
import { MATCHED } from '../../../../src/shadow/record/shadow-record.js';
import { StatsAggregate } from '../../../../src/shadow/record/stats-aggregate.js';

const roles = { primary: 'legacy', candidate: 'new' } as const;
const diff = { path: '$.price', field: '$.price', kind: 'changed' as const, primary: 10, candidate: 11 };
const sample: MismatchSample = {
  route: 'r', endpoint: 'GET /p', at: 1,
  request: { method: 'GET', path: '/p', headers: {}, body: '' },
  primary: { status: 200, headers: {}, body: '{"price":10}' },
  candidate: { status: 200, headers: {}, body: '{"price":11}' },
  diffs: [diff],
};
const record = (outcome: ComparisonRecord['outcome'], withSample = false): ComparisonRecord => ({ route: 'r', endpoint: 'GET /p', roles, at: 1, outcome, sample: withSample ? sample : null });

describe('StatsAggregate.addComparison with a count', () => {
  it('adds a run of matches as that many comparisons', () => {
    const agg = new StatsAggregate(10);
    agg.addComparison(record(MATCHED), 250);
    agg.addComparison(record(MATCHED));
    expect(agg.snapshot()[0].counters).toEqual({ compared: 251, matched: 251 });
  });

  it('counts errors and skips by the count', () => {
    const agg = new StatsAggregate(10);
    agg.addComparison(record({ kind: 'error', reason: 'timeout' }), 3);
    agg.addComparison(record({ kind: 'skipped', reason: 'too-large' }), 2);
    expect(agg.snapshot()[0].counters).toEqual({ 'error:timeout': 3, 'skipped:too-large': 2 });
  });

  it('counts a mismatch in fields and signatures by the count, keeping its sample once', () => {
    const agg = new StatsAggregate(10);
    agg.addComparison(record({ kind: 'compared', diffs: [diff] }, true), 4);
    agg.addComparison(record({ kind: 'compared', diffs: [diff] }));
    const [snap] = agg.snapshot();
    expect(snap.counters).toEqual({ compared: 5 });
    expect(snap.fields['$.price']).toMatchObject({ candidateDiffs: 5, example: diff });
    expect(snap.signatures).toEqual([{ fields: ['$.price'], count: 5 }]);
    expect(snap.samplesStored).toBe(1);
  });
});
