import { format } from 'node:util';
import type { LDClient, LDContext, LDEvaluationDetail, LDLogger, LDOptions } from '@launchdarkly/node-server-sdk';
import { init } from '@launchdarkly/node-server-sdk';
import { FileDataSourceFactory } from '@launchdarkly/node-server-sdk/integrations';
import { parse as parseYaml } from 'yaml';
import type { Logger } from '../../observability/logger.js';
import type { FlagContext, FlagProvider, FlagResult } from '../flag-provider.js';
import { FAILED, variationToString } from '../flag-provider.js';

/**
 * Flags from LaunchDarkly through `@launchdarkly/node-server-sdk` v9 (the successor of the frozen
 * `launchdarkly-node-server-sdk` v7 package).
 *
 * The SDK keeps every flag in memory and applies streamed changes as they arrive, so a change
 * takes effect on the next `evaluate`. Its evaluation API is promise-based, so `evaluate` returns a
 * promise — except for the answers we can give without asking it (no context key, not initialised),
 * which come back synchronously.
 *
 * Data sources: the LaunchDarkly service (streaming; base/stream/events URIs can point at a Relay
 * Proxy), an offline JSON/YAML file (the SDK's FileDataSource, reloaded on change), or an injected
 * update processor such as the SDK's `TestData` for tests.
 */
export interface LaunchDarklyProviderOptions {
  readonly sdkKey: string;
  /** Offline flag data (the SDK's file data source); null to talk to LaunchDarkly. */
  readonly file: string | null;
  /** How long `start()` waits for the first flag data before starting anyway. */
  readonly initTimeoutMs: number;
  readonly baseUri?: string;
  readonly streamUri?: string;
  readonly eventsUri?: string;
  /** Send analytics events to LaunchDarkly (default: true online, false with a file or test data). */
  readonly sendEvents?: boolean;
  /** A data source to use instead of the service or file, e.g. `new TestData().getFactory()`. */
  readonly updateProcessor?: LDOptions['updateProcessor'];
  readonly logger: Logger;
}

/** Routes the SDK's own log lines into ficus's JSON log. */
function sdkLogger(log: Logger): LDLogger {
  return {
    error: (...args: unknown[]) => log.error(format(...args)),
    warn: (...args: unknown[]) => log.warn(format(...args)),
    info: (...args: unknown[]) => log.info(format(...args)),
    debug: (...args: unknown[]) => log.debug(format(...args)),
  };
}

// Attribute names LaunchDarkly reserves in a context object; ours cannot override them.
const RESERVED = new Set(['kind', 'key', '_meta']);

/** A FlagContext as a LaunchDarkly single-kind context; absent (null) attributes are left out. */
export function toLaunchDarklyContext(ctx: FlagContext & { readonly key: string }): LDContext {
  const out: Record<string, unknown> = { kind: ctx.kind, key: ctx.key };
  for (const name in ctx.attributes) {
    const v = ctx.attributes[name];
    if (v !== null && v !== undefined && !RESERVED.has(name)) out[name] = v;
  }
  return out as LDContext;
}

/** Maps the SDK's evaluation detail onto FlagResult, keeping its error kinds apart. */
export function fromLaunchDarklyDetail(detail: LDEvaluationDetail): FlagResult {
  const reason = detail.reason;
  if (reason?.kind === 'ERROR') {
    switch (reason.errorKind) {
      case 'FLAG_NOT_FOUND': return FAILED['flag-unknown'];
      case 'USER_NOT_SPECIFIED': return FAILED['context-key-missing'];
      case 'CLIENT_NOT_READY': return FAILED['provider-not-ready'];
      default: return FAILED.error;
    }
  }
  return { value: variationToString(detail.value), reason: 'evaluated' };
}

export class LaunchDarklyFlagProvider implements FlagProvider {
  readonly name = 'launchdarkly' as const;
  private client: LDClient | null = null;
  private readonly log: Logger;
  private readonly onError = (err: unknown) => {
    this.log.error({ code: 'FICUS_ERR_FLAG_UNAVAILABLE', err: err instanceof Error ? err.message : String(err) }, 'LaunchDarkly evaluation failed; serving the route default');
    return FAILED.error;
  };

  constructor(private readonly opts: LaunchDarklyProviderOptions) {
    this.log = opts.logger.child({ component: 'flags', provider: 'launchdarkly' });
  }

  evaluate(flagKey: string, context: FlagContext): FlagResult | Promise<FlagResult> {
    const key = context.key;
    if (key === null || key === '') return FAILED['context-key-missing'];
    const client = this.client;
    if (client === null || !client.initialized()) return FAILED['provider-not-ready'];
    try {
      return client.variationDetail(flagKey, toLaunchDarklyContext({ ...context, key }), null).then(fromLaunchDarklyDetail, this.onError);
    } catch (err) {
      return this.onError(err);
    }
  }

  ready(): boolean {
    return this.client?.initialized() ?? false;
  }

  /**
   * 1. create the client with its data source; 2. wait up to `initTimeoutMs` for the first data;
   * 3. on timeout or failure start anyway: evaluations answer `provider-not-ready` (routes serve
   *    their default) until the SDK, still retrying in the background, initialises.
   */
  async start(): Promise<void> {
    const offline = this.opts.file !== null || this.opts.updateProcessor !== undefined;
    const updateProcessor = this.opts.updateProcessor
      ?? (this.opts.file !== null ? new FileDataSourceFactory({ paths: [this.opts.file], autoUpdate: true, yamlParser: parseYaml }).getFactory() : undefined);
    const client = init(this.opts.sdkKey, {
      logger: sdkLogger(this.log),
      sendEvents: this.opts.sendEvents ?? !offline,
      diagnosticOptOut: offline,
      ...(updateProcessor ? { updateProcessor } : {}),
      ...(this.opts.baseUri ? { baseUri: this.opts.baseUri } : {}),
      ...(this.opts.streamUri ? { streamUri: this.opts.streamUri } : {}),
      ...(this.opts.eventsUri ? { eventsUri: this.opts.eventsUri } : {}),
    });
    this.client = client;
    const source = this.opts.file ?? (this.opts.updateProcessor ? 'injected data source' : this.opts.streamUri ?? 'LaunchDarkly');
    try {
      await client.waitForInitialization({ timeout: this.opts.initTimeoutMs / 1000 });
      this.log.info({ source }, 'LaunchDarkly initialised');
    } catch (err) {
      this.log.warn(
        { code: 'FICUS_ERR_FLAG_PROVIDER_NOT_READY', source, initTimeoutMs: this.opts.initTimeoutMs, err: err instanceof Error ? err.message : String(err) },
        'LaunchDarkly did not initialise in time; starting anyway and serving route defaults until it does',
      );
      client.once('ready', () => this.log.info({ source }, 'LaunchDarkly initialised late; flags are evaluated from now on'));
    }
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = null;
    client?.close();
  }
}
