import type { Logger } from '../observability/logger.js';
import type { Registry } from '../observability/metrics.js';
import { Counter as PromCounter, Gauge } from '../observability/metrics.js';
import type { Clock } from '../util/clock.js';
import { systemClock } from '../util/clock.js';
import type { FlagContext, FlagProvider, FlagReason, FlagResult } from './flag-provider.js';
import { isPromise } from './flag-provider.js';
import type { RouteFlagConfig } from './flags-config.js';

/**
 * The router's one call for a flag-decided route: evaluate the flag, map the variation to the
 * route's upstream or mode, and fall back to the route's `default` — with a log line and a metric —
 * whenever that is not possible. It never throws and never rejects.
 *
 * Results, as the `result` label of `ficus_flag_evaluations_total`:
 *   evaluated                    the flag's variation chose the target
 *   default-flag-unknown         the provider has no such flag
 *   default-context-key-missing  the request lacked the context key (e.g. no x-user-id header)
 *   default-provider-not-ready   LaunchDarkly has not initialised (yet)
 *   default-error                the provider failed (a bug or SDK error)
 *   default-no-variation         the flag served no value (e.g. LaunchDarkly off without offVariation)
 *   default-unmapped-variation   the value is not listed in the route's `variations`
 */
export type DecisionResult =
  | 'evaluated'
  | `default-${Exclude<FlagReason, 'evaluated'>}`
  | 'default-no-variation'
  | 'default-unmapped-variation';

export interface FlagDecision {
  /** The upstream name or migration mode to use. */
  readonly choice: string;
  /** The variation the flag served (null when it served none). */
  readonly variation: string | null;
  readonly result: DecisionResult;
}

interface Tally {
  readonly flag: string;
  readonly result: DecisionResult;
  pending: number;
}

type DefaultResult = Exclude<DecisionResult, 'evaluated' | 'default-unmapped-variation'>;

/** A route's `flag:` block compiled for the hot path: every decision object exists up front. */
export interface RouteFlag {
  readonly route: string;
  readonly key: string;
  readonly default: string;
  readonly contextKind: string;
  /** The request source of the context key (header:NAME, cookie:NAME, query:NAME or ip). */
  readonly contextKey: string;
  /** [attribute name, request source] pairs, for the router's context extraction. */
  readonly contextAttributes: ReadonlyArray<readonly [string, string]>;
  readonly choices: ReadonlyMap<string, FlagDecision>;
  readonly defaults: Readonly<Record<DefaultResult, FlagDecision>>;
}

const DEFAULT_RESULTS: readonly DefaultResult[] = [
  'default-flag-unknown', 'default-context-key-missing', 'default-provider-not-ready', 'default-error', 'default-no-variation',
];

export function compileRouteFlag(route: string, config: RouteFlagConfig): RouteFlag {
  const choices = new Map<string, FlagDecision>();
  for (const [variation, choice] of Object.entries(config.variations)) {
    choices.set(variation, Object.freeze({ choice, variation, result: 'evaluated' as const }));
  }
  const defaults = Object.fromEntries(
    DEFAULT_RESULTS.map((result) => [result, Object.freeze({ choice: config.default, variation: null, result })]),
  ) as Record<DefaultResult, FlagDecision>;
  return Object.freeze({
    route,
    key: config.key,
    default: config.default,
    contextKind: config.context.kind ?? 'user',
    contextKey: config.context.key,
    contextAttributes: Object.freeze(Object.entries(config.context.attributes ?? {}).map(([name, source]) => Object.freeze([name, source] as const))),
    choices,
    defaults: Object.freeze(defaults),
  });
}

export interface FlagDeciderDeps {
  readonly logger: Logger;
  readonly registry: Registry;
  readonly clock?: Clock;
  /** A fallback for the same flag and reason is logged at most once per interval (default 10 s). */
  readonly logIntervalMs?: number;
}

export class FlagDecider {
  // The hot path bumps a plain integer per (flag, result); the counter receives the sums when it is
  // scraped. prom-client's `inc` hashes the label set on every call, which cost as much as the
  // flag evaluation itself (see test/bench/flags-bench.ts).
  private readonly tallies = new Map<string, Tally>();
  private readonly bound = new WeakMap<FlagDecision, Tally>();
  private readonly lastLogged = new Map<string, { at: number; suppressed: number }>();
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly logIntervalMs: number;

  constructor(private readonly provider: FlagProvider, deps: FlagDeciderDeps) {
    this.log = deps.logger.child({ component: 'flags' });
    this.clock = deps.clock ?? systemClock;
    this.logIntervalMs = deps.logIntervalMs ?? 10_000;
    const tallies = this.tallies;
    new PromCounter({
      name: 'ficus_flag_evaluations_total',
      help: 'Flag-decided requests by flag and result: evaluated, or default-<reason> when the route default was served',
      labelNames: ['flag', 'result'],
      registers: [deps.registry],
      collect() {
        for (const tally of tallies.values()) {
          if (tally.pending === 0) continue;
          this.inc({ flag: tally.flag, result: tally.result }, tally.pending);
          tally.pending = 0;
        }
      },
    });
    new Gauge({
      name: 'ficus_flag_provider_ready',
      help: '1 when the flag provider has flag data (LaunchDarkly initialised, local file loaded), else 0',
      labelNames: ['provider'],
      registers: [deps.registry],
      collect() {
        this.set({ provider: provider.name }, provider.ready() ? 1 : 0);
      },
    });
  }

  /** Synchronous when the provider is (local); a promise for LaunchDarkly. */
  decide(flag: RouteFlag, context: FlagContext): FlagDecision | Promise<FlagDecision> {
    let result: FlagResult | Promise<FlagResult>;
    try {
      result = this.provider.evaluate(flag.key, context);
    } catch (err) {
      return this.fail(flag, err);
    }
    if (isPromise(result)) return result.then((r) => this.finish(flag, r), (err: unknown) => this.fail(flag, err));
    return this.finish(flag, result);
  }

  private finish(flag: RouteFlag, r: FlagResult): FlagDecision {
    let d: FlagDecision | undefined;
    if (r.reason !== 'evaluated') d = flag.defaults[`default-${r.reason}`];
    else if (r.value === null) d = flag.defaults['default-no-variation'];
    else d = flag.choices.get(r.value) ?? { choice: flag.default, variation: r.value, result: 'default-unmapped-variation' };
    this.count(flag, d);
    if (d.result !== 'evaluated') this.warn(flag, d);
    return d;
  }

  private fail(flag: RouteFlag, err: unknown): FlagDecision {
    const d = flag.defaults['default-error'];
    this.count(flag, d);
    this.warn(flag, d, err);
    return d;
  }

  private count(flag: RouteFlag, d: FlagDecision): void {
    let tally = this.bound.get(d);
    if (tally === undefined) {
      const id = `${flag.key}\u0000${d.result}`;
      tally = this.tallies.get(id);
      if (tally === undefined) {
        tally = { flag: flag.key, result: d.result, pending: 0 };
        this.tallies.set(id, tally);
      }
      // Unmapped-variation decisions are made per request; binding them would only grow the map.
      if (d.result !== 'default-unmapped-variation') this.bound.set(d, tally);
    }
    tally.pending++;
  }

  /** One line per flag and reason per interval, with how many were not logged in between. */
  private warn(flag: RouteFlag, d: FlagDecision, err?: unknown): void {
    const id = `${flag.route}\u0000${d.result}`;
    const now = this.clock.monotonic();
    const last = this.lastLogged.get(id);
    if (last !== undefined && now - last.at < this.logIntervalMs) {
      last.suppressed++;
      return;
    }
    this.lastLogged.set(id, { at: now, suppressed: 0 });
    this.log.warn(
      {
        code: 'FICUS_ERR_FLAG_UNAVAILABLE',
        flag: flag.key,
        route: flag.route,
        result: d.result,
        variation: d.variation,
        served: d.choice,
        suppressed: last?.suppressed ?? 0,
        ...(err !== undefined ? { err: err instanceof Error ? err.message : String(err) } : {}),
      },
      `flag ${flag.key} could not decide route ${flag.route} (${d.result}); serving the route default "${d.choice}"`,
    );
  }
}
