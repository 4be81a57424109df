import type { Clock } from '../util/clock.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerSettings {
  /** consecutive failures that open the circuit */
  readonly failures: number;
  /** how long the circuit stays open before one trial request is let through */
  readonly cooldownMs: number;
}

/**
 * A consecutive-failure circuit breaker per upstream. Closed: every request passes; `failures`
 * failures in a row open it. Open: requests are refused (the route's fallback serves them) until
 * `cooldownMs` has passed; then half-open lets exactly one trial through, whose result closes or
 * re-opens the circuit. Time comes from the injected clock.
 */
export class CircuitBreaker {
  private consecutive = 0;
  private openedAt = 0;
  private trialInFlight = false;
  state: BreakerState = 'closed';

  constructor(readonly settings: BreakerSettings, private readonly clock: Clock) {}

  /** May a request go to the upstream now? A `true` in half-open state claims the one trial. */
  allow(): boolean {
    if (this.state === 'closed') return true;
    if (this.state === 'open') {
      if (this.clock.monotonic() - this.openedAt < this.settings.cooldownMs) return false;
      this.state = 'half-open';
      this.trialInFlight = false;
    }
    if (this.trialInFlight) return false;
    this.trialInFlight = true;
    return true;
  }

  success(): void {
    this.consecutive = 0;
    this.trialInFlight = false;
    this.state = 'closed';
  }

  failure(): void {
    this.trialInFlight = false;
    if (this.state === 'half-open' || ++this.consecutive >= this.settings.failures) {
      this.state = 'open';
      this.openedAt = this.clock.monotonic();
      this.consecutive = 0;
    }
  }

  /** A request that ended without telling us anything (client abort) releases a claimed trial. */
  neutral(): void {
    this.trialInFlight = false;
  }
}
