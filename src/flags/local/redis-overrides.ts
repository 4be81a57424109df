import { Redis } from 'ioredis';
import { ficusError } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import type { RandomSource } from '../../util/clock.js';
import { systemRandom } from '../../util/clock.js';
import { backoffDelay } from '../../util/retry.js';
import type { FlagOverride } from './local-flag-model.js';

/**
 * Shared runtime overrides for local flags, so every proxy instance sees a flip within 1 s:
 *
 * - the hash `<prefix>:overrides` maps a flag key to a JSON override, e.g. `{"on":false}`,
 *   `{"rollout":50}`, `{"variation":"shadow"}` (fields left out keep the file's value);
 * - a writer publishes the flag key on `<prefix>:overrides:changed`, and each instance re-reads the
 *   hash on that message (milliseconds);
 * - each instance also re-reads the hash every `pollInterval` (default 1 s) as a fallback for a
 *   missed message (pub/sub is fire-and-forget; a subscriber that was reconnecting misses it).
 *
 * When Redis is unreachable the last overrides read keep applying (a warning is logged once per
 * outage); ioredis reconnects with the project's backoff policy.
 */
export const DEFAULT_KEY_PREFIX = 'ficus:flags';
export const DEFAULT_POLL_INTERVAL_MS = 1000;

export function overridesHashKey(prefix: string): string {
  return `${prefix}:overrides`;
}

export function overridesChannel(prefix: string): string {
  return `${prefix}:overrides:changed`;
}

/** A change to an override: a field set to null removes it from the stored override. */
export type FlagOverridePatch = { readonly [K in keyof FlagOverride]?: FlagOverride[K] | null };

const OVERRIDE_FIELDS = ['on', 'rollout', 'variation', 'fallthrough'] as const;

export type ParsedOverride<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

/** Checks the shape of an override or patch (nulls allowed only in a patch). */
export function parseFlagOverride(raw: unknown, opts: { patch?: boolean } = {}): ParsedOverride<FlagOverridePatch> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { ok: false, message: 'an override must be a JSON object' };
  const out: Record<string, unknown> = {};
  const errors: string[] = [];
  for (const [k, v] of Object.entries(raw)) {
    if (!(OVERRIDE_FIELDS as readonly string[]).includes(k)) {
      errors.push(`unknown field "${k}" (expected ${OVERRIDE_FIELDS.join(', ')})`);
      continue;
    }
    if (v === null && opts.patch) {
      out[k] = null;
      continue;
    }
    if (k === 'on' && typeof v !== 'boolean') errors.push(`"on" must be true or false, got ${JSON.stringify(v)}`);
    else if (k === 'rollout' && (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 100)) errors.push(`"rollout" must be a number from 0 to 100, got ${JSON.stringify(v)}`);
    else if ((k === 'variation' || k === 'fallthrough') && typeof v !== 'string' && typeof v !== 'boolean') errors.push(`"${k}" must be a variation value (string), got ${JSON.stringify(v)}`);
    else out[k] = typeof v === 'boolean' && k !== 'on' ? String(v) : v;
  }
  return errors.length > 0 ? { ok: false, message: errors.join('; ') } : { ok: true, value: out as FlagOverridePatch };
}

/** Reads all overrides (raw hash) into checked values; malformed entries become problems. */
export function parseOverrideHash(hash: Readonly<Record<string, string>>): { overrides: Map<string, FlagOverride>; problems: string[] } {
  const overrides = new Map<string, FlagOverride>();
  const problems: string[] = [];
  for (const key of Object.keys(hash).sort()) {
    let json: unknown;
    try {
      json = JSON.parse(hash[key]);
    } catch {
      problems.push(`override for flag "${key}" ignored: not JSON: ${hash[key]}`);
      continue;
    }
    const parsed = parseFlagOverride(json);
    if (parsed.ok) overrides.set(key, parsed.value as FlagOverride);
    else problems.push(`override for flag "${key}" ignored: ${parsed.message}`);
  }
  return { overrides, problems };
}

// Merge-and-publish in one atomic step, so two operators flipping different fields of the same
// flag at once cannot lose either change. A field set to JSON null is removed; an empty override
// is deleted.
const SET_SCRIPT = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local o = {}
if cur then o = cjson.decode(cur) end
for k, v in pairs(cjson.decode(ARGV[2])) do
  if v == cjson.null then o[k] = nil else o[k] = v end
end
local out = ''
if next(o) == nil then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  out = cjson.encode(o)
  redis.call('HSET', KEYS[1], ARGV[1], out)
end
redis.call('PUBLISH', KEYS[2], ARGV[1])
return out
`;

/**
 * Merges `patch` into the stored override of `flagKey` and notifies every instance. Returns the
 * override now stored (null when none is left). Throws on a malformed patch or a Redis error (this
 * is the CLI's call, not the request path).
 */
export async function setFlagOverride(redis: Redis, prefix: string, flagKey: string, patch: FlagOverridePatch): Promise<FlagOverride | null> {
  const parsed = parseFlagOverride(patch, { patch: true });
  if (!parsed.ok) throw ficusError('FICUS_ERR_FLAG_OVERRIDE_INVALID', flagKey, parsed.message);
  const out = (await redis.eval(SET_SCRIPT, 2, overridesHashKey(prefix), overridesChannel(prefix), flagKey, JSON.stringify(parsed.value))) as string;
  return out === '' ? null : (JSON.parse(out) as FlagOverride);
}

/** Removes every override of `flagKey` (the file's definition serves again). True if one existed. */
export async function clearFlagOverride(redis: Redis, prefix: string, flagKey: string): Promise<boolean> {
  const removed = await redis.hdel(overridesHashKey(prefix), flagKey);
  await redis.publish(overridesChannel(prefix), flagKey);
  return removed > 0;
}

export async function listFlagOverrides(redis: Redis, prefix: string): Promise<{ overrides: Map<string, FlagOverride>; problems: string[] }> {
  return parseOverrideHash(await redis.hgetall(overridesHashKey(prefix)));
}

export interface RedisOverrideSourceOptions {
  readonly url: string;
  readonly keyPrefix: string;
  readonly pollIntervalMs: number;
  readonly logger: Logger;
  readonly random?: RandomSource;
  /** Called with the full set whenever it differs from the last one read. */
  readonly onChange: (overrides: ReadonlyMap<string, FlagOverride>, problems: readonly string[]) => void;
}

/** Keeps one instance's view of the shared overrides fresh (pub/sub + polling). */
export class RedisOverrideSource {
  private readonly redis: Redis;
  private readonly sub: Redis;
  private timer: NodeJS.Timeout | null = null;
  private lastSeen: string | null = null;
  private healthy = true;
  private reading: Promise<void> | null = null;
  private again = false;
  private closed = false;

  constructor(private readonly opts: RedisOverrideSourceOptions) {
    const random = opts.random ?? systemRandom;
    const redisOptions = {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      // The project's one backoff policy, capped at the poll interval so recovery is seen quickly.
      retryStrategy: (times: number) => backoffDelay({ retries: Infinity, initialMs: 50, maxMs: opts.pollIntervalMs, factor: 2 }, times, random) + 10,
    };
    // Reads fail fast while disconnected (the last good overrides keep serving)...
    this.redis = new Redis(opts.url, { ...redisOptions, enableOfflineQueue: false });
    // ...while the subscription is queued and re-established by ioredis after a reconnect.
    this.sub = new Redis(opts.url, redisOptions);
    const onError = (err: Error) => this.unhealthy(err);
    this.redis.on('error', onError);
    this.sub.on('error', onError);
    this.sub.on('message', () => void this.refresh());
    // A reconnected subscriber may have missed messages: read at once.
    this.sub.on('ready', () => void this.refresh());
  }

  /** Connects and reads once. Resolves even when Redis is down (the file's flags serve). */
  async start(): Promise<void> {
    let connected = true;
    await Promise.all([this.redis.connect(), this.sub.connect()]).catch((err: Error) => {
      connected = false;
      this.unhealthy(err);
    });
    // Subscribed before the first read, so no change can fall between the two. While Redis is down
    // the subscription waits in ioredis's queue (and is renewed on every reconnect); start-up does not.
    const subscribed = this.sub.subscribe(overridesChannel(this.opts.keyPrefix)).catch((err: Error) => this.unhealthy(err));
    if (connected) await subscribed;
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.opts.pollIntervalMs);
    this.timer.unref();
  }

  /** Re-reads the hash; concurrent calls coalesce into one read plus at most one follow-up. */
  refresh(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.reading) {
      this.again = true;
      return this.reading;
    }
    this.reading = this.read().finally(() => {
      this.reading = null;
      if (this.again) {
        this.again = false;
        void this.refresh();
      }
    });
    return this.reading;
  }

  private async read(): Promise<void> {
    let hash: Record<string, string>;
    try {
      hash = await this.redis.hgetall(overridesHashKey(this.opts.keyPrefix));
    } catch (err) {
      this.unhealthy(err as Error);
      return;
    }
    if (!this.healthy) {
      this.healthy = true;
      this.opts.logger.info({ url: redactUrl(this.opts.url) }, 'flag overrides: Redis reachable again');
    }
    // Serialise in sorted order so an unchanged hash is recognised and nothing is rebuilt.
    const seen = JSON.stringify(Object.keys(hash).sort().map((k) => [k, hash[k]]));
    if (seen === this.lastSeen) return;
    this.lastSeen = seen;
    const { overrides, problems } = parseOverrideHash(hash);
    this.opts.onChange(overrides, problems);
  }

  private unhealthy(err: Error): void {
    if (this.closed || !this.healthy) return;
    this.healthy = false;
    this.opts.logger.warn(
      { code: 'FICUS_ERR_FLAG_OVERRIDES_UNAVAILABLE', url: redactUrl(this.opts.url), err: err.message },
      'flag overrides: Redis unreachable; keeping the last overrides read until it is back',
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.reading?.catch(() => undefined);
    this.redis.disconnect();
    this.sub.disconnect();
  }
}

/** Hides a password in a Redis URL before it reaches a log line. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<invalid url>';
  }
}
