import { ficusError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { Registry } from '../observability/metrics.js';
import type { Clock, RandomSource } from '../util/clock.js';
import { FlagDecider } from './flag-decider.js';
import type { FlagProvider } from './flag-provider.js';
import type { FlagsSettings } from './flags-config.js';
import type { LaunchDarklyProviderOptions } from './launchdarkly/launchdarkly-flag-provider.js';
import { LaunchDarklyFlagProvider } from './launchdarkly/launchdarkly-flag-provider.js';
import { LocalFlagProvider } from './local/local-flag-provider.js';
import { redactUrl } from './local/redis-overrides.js';

export interface FlagDeps {
  readonly logger: Logger;
  readonly registry: Registry;
  readonly clock?: Clock;
  readonly random?: RandomSource;
  /** Where the SDK key variable is read (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** LaunchDarkly only: a data source replacing the service, e.g. `new TestData().getFactory()`. */
  readonly ldUpdateProcessor?: LaunchDarklyProviderOptions['updateProcessor'];
  /** Local only: reload debounce (default 100 ms). */
  readonly debounceMs?: number;
}

/** What the composition root holds: the provider, the router's decider, and a start-up line. */
export interface FlagRuntime {
  readonly provider: FlagProvider;
  readonly decider: FlagDecider;
  /** e.g. "local rules/flags.yaml + redis overrides redis://127.0.0.1:6379 (ficus:flags)". */
  readonly description: string;
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Builds the configured provider (not started) and the decider with its metrics on `registry`.
 * Throws FICUS_ERR_CONFIG_INVALID when LaunchDarkly is chosen without an SDK key and without an
 * offline file — a start-up mistake, not a runtime fallback.
 */
export function createFlagProvider(settings: FlagsSettings, deps: FlagDeps): FlagRuntime {
  let provider: FlagProvider;
  let description: string;
  if (settings.provider === 'local') {
    provider = new LocalFlagProvider({ file: settings.file, redis: settings.redis, logger: deps.logger, random: deps.random, debounceMs: deps.debounceMs });
    description = `local ${settings.file}${settings.redis ? ` + redis overrides ${redactUrl(settings.redis.url)} (${settings.redis.keyPrefix})` : ''}`;
  } else {
    const env = deps.env ?? process.env;
    const offline = settings.file !== null || deps.ldUpdateProcessor !== undefined;
    const sdkKey = env[settings.sdkKeyEnv] ?? (offline ? 'offline' : undefined);
    if (sdkKey === undefined || sdkKey === '') {
      throw ficusError('FICUS_ERR_CONFIG_INVALID', `flags.launchdarkly.sdkKeyEnv: environment variable ${settings.sdkKeyEnv} is not set (or set flags.launchdarkly.file for offline flags)`);
    }
    provider = new LaunchDarklyFlagProvider({
      sdkKey,
      file: settings.file,
      initTimeoutMs: settings.initTimeoutMs,
      ...(settings.baseUri ? { baseUri: settings.baseUri } : {}),
      ...(settings.streamUri ? { streamUri: settings.streamUri } : {}),
      ...(settings.eventsUri ? { eventsUri: settings.eventsUri } : {}),
      ...(settings.sendEvents !== null ? { sendEvents: settings.sendEvents } : {}),
      ...(deps.ldUpdateProcessor ? { updateProcessor: deps.ldUpdateProcessor } : {}),
      logger: deps.logger,
    });
    description = `launchdarkly ${settings.file ? `offline file ${settings.file}` : deps.ldUpdateProcessor ? 'injected data source' : (settings.streamUri ?? 'service')} (init timeout ${settings.initTimeoutMs} ms)`;
  }
  const decider = new FlagDecider(provider, { logger: deps.logger, registry: deps.registry, clock: deps.clock });
  return { provider, decider, description, start: () => provider.start(), close: () => provider.close() };
}
