import { isRetriable } from '../errors.js';
import type { RandomSource } from './clock.js';
import { systemRandom } from './clock.js';

/**
 * One retrier for the whole project (CDC reconnects, sink writes, Redis reconnects): exponential
 * backoff with full jitter and a cap, retrying only errors whose `retriable` flag says so.
 */
export interface RetryPolicy {
  readonly retries: number;
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 5, initialMs: 100, maxMs: 10_000, factor: 2 };

export interface RetryDeps {
  readonly random?: RandomSource;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  /** Overrides the error's own flag, for callers that know better (e.g. a deadlock is retriable). */
  readonly isRetriable?: (err: unknown) => boolean;
}

export function backoffDelay(policy: RetryPolicy, attempt: number, random: RandomSource): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * policy.factor ** attempt);
  return Math.floor(random() * ceiling);
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function retry<T>(fn: (attempt: number) => Promise<T>, policy: RetryPolicy = DEFAULT_RETRY, deps: RetryDeps = {}): Promise<T> {
  const random = deps.random ?? systemRandom;
  const sleep = deps.sleep ?? realSleep;
  const canRetry = deps.isRetriable ?? isRetriable;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= policy.retries || !canRetry(err)) throw err;
      const delay = backoffDelay(policy, attempt, random);
      deps.onRetry?.(err, attempt + 1, delay);
      await sleep(delay);
    }
  }
}
