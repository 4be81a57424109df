import { describe, expect, it } from 'vitest';
import { createRegistry } from '../../../src/observability/metrics.js';
import { TalliedCounter } from '../../../src/observability/tallied-counter.js';

describe('TalliedCounter', () => {
  it('adds each cell\'s tallies to the counter at every read, counting each increment exactly once', async () => {
    const registry = createRegistry();
    const c = new TalliedCounter({ name: 'test_things_total', help: 'things', labelNames: ['route', 'result'], registry });
    const match = c.cell({ route: 'r', result: 'match' });
    expect(c.cell({ result: 'match', route: 'r' })).toBe(match); // label order does not matter
    const miss = c.cell({ route: 'r', result: 'mismatch' });
    match.n += 3;
    miss.n++;
    expect(await registry.metrics()).toContain('test_things_total{route="r",result="match"} 3');
    match.n += 2;
    const text = await registry.metrics();
    expect(text).toContain('test_things_total{route="r",result="match"} 5');
    expect(text).toContain('test_things_total{route="r",result="mismatch"} 1');
    const values = (await registry.getSingleMetric('test_things_total')!.get()).values;
    expect(values.map((v) => v.value).sort()).toEqual([1, 5]);
  });
});
