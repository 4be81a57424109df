import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../../src/proxy/circuit-breaker.js';
import { ManualClock } from '../../../src/util/clock.js';

describe('CircuitBreaker', () => {
  it('opens after N consecutive failures, lets one trial through after the cooldown, and re-opens on a failed trial', () => {
    const clock = new ManualClock();
    const b = new CircuitBreaker({ failures: 2, cooldownMs: 100 }, clock);
    b.failure();
    b.success(); // a success resets the count
    b.failure();
    expect(b.state).toBe('closed');
    b.failure();
    expect(b.state).toBe('open');
    expect(b.allow()).toBe(false);
    clock.advance(100);
    expect(b.allow()).toBe(true); // the trial
    expect(b.allow()).toBe(false); // only one
    b.failure();
    expect(b.state).toBe('open');
    clock.advance(99);
    expect(b.allow()).toBe(false);
    clock.advance(1);
    expect(b.allow()).toBe(true);
    b.neutral(); // the trial's client went away: another trial may go
    expect(b.allow()).toBe(true);
    b.success();
    expect(b.state).toBe('closed');
    expect(b.allow()).toBe(true);
  });
});
