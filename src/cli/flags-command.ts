import type { Command } from 'commander';
import { Redis } from 'ioredis';
import { FicusError } from '../errors.js';
import type { FlagOverridePatch } from '../flags/local/redis-overrides.js';
import { DEFAULT_KEY_PREFIX, clearFlagOverride, listFlagOverrides, setFlagOverride } from '../flags/local/redis-overrides.js';

interface RedisOpts {
  redis: string;
  prefix: string;
  json?: boolean;
}

function percent(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 100) throw new Error(`invalid --rollout "${value}": expected a percentage from 0 to 100`);
  return n;
}

async function withRedis<T>(url: string, fn: (r: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw new FicusError('FICUS_ERR_FLAG_OVERRIDES_UNAVAILABLE', [url, (err as Error).message]);
  }
  try {
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}

function redisOptions(cmd: Command): Command {
  return cmd
    .option('--redis <url>', 'Redis holding the shared overrides', process.env.FICUS_FLAGS_REDIS ?? 'redis://127.0.0.1:6379')
    .option('--prefix <prefix>', 'key prefix (the rules file\'s flags.redis.keyPrefix)', DEFAULT_KEY_PREFIX)
    .option('--json', 'print the result as JSON');
}

/**
 * `ficus flags set|clear|list`: runtime overrides of local flags, shared through Redis. Every proxy
 * instance with `flags.redis` applies a change within a second.
 */
export function registerFlagsCommands(program: Command): void {
  const flags = program.command('flags').description('runtime overrides of local feature flags (shared through Redis)');
  redisOptions(
    flags
      .command('set')
      .description('override a flag on every instance: ficus flags set orders-migration --rollout 50')
      .argument('<flag>', 'flag key')
      .option('--on', 'turn the flag on')
      .option('--off', 'turn the flag off (everyone gets its offVariation)')
      .option('--rollout <percent>', 'percentage of context keys in the rollout slice', percent)
      .option('--variation <value>', 'variation served to the rollout slice')
      .option('--fallthrough <value>', 'variation served to everyone else'),
  ).action(async (flag: string, o: RedisOpts & { on?: boolean; off?: boolean; rollout?: number; variation?: string; fallthrough?: string }) => {
    if (o.on && o.off) throw new Error('choose one of --on and --off');
    const patch: { -readonly [K in keyof FlagOverridePatch]: FlagOverridePatch[K] } = {};
    if (o.on) patch.on = true;
    if (o.off) patch.on = false;
    if (o.rollout !== undefined) patch.rollout = o.rollout;
    if (o.variation !== undefined) patch.variation = o.variation;
    if (o.fallthrough !== undefined) patch.fallthrough = o.fallthrough;
    if (Object.keys(patch).length === 0) throw new Error('nothing to set: give --on, --off, --rollout, --variation or --fallthrough');
    const result = await withRedis(o.redis, (r) => setFlagOverride(r, o.prefix, flag, patch));
    process.stdout.write(o.json ? JSON.stringify({ flag, override: result }) + '\n' : `${flag}: override ${JSON.stringify(result)}\n`);
  });
  redisOptions(flags.command('clear').description('remove a flag\'s override (the flags file serves again)').argument('<flag>', 'flag key')).action(
    async (flag: string, o: RedisOpts) => {
      const removed = await withRedis(o.redis, (r) => clearFlagOverride(r, o.prefix, flag));
      process.stdout.write(o.json ? JSON.stringify({ flag, removed }) + '\n' : `${flag}: ${removed ? 'override removed' : 'had no override'}\n`);
    },
  );
  redisOptions(flags.command('list').description('list the overrides in force')).action(async (o: RedisOpts) => {
    const { overrides, problems } = await withRedis(o.redis, (r) => listFlagOverrides(r, o.prefix));
    if (o.json) {
      process.stdout.write(JSON.stringify({ overrides: Object.fromEntries(overrides), problems }) + '\n');
      return;
    }
    if (overrides.size === 0) process.stdout.write('no overrides\n');
    for (const [k, v] of overrides) process.stdout.write(`${k}: ${JSON.stringify(v)}\n`);
    for (const p of problems) process.stderr.write(`ignored: ${p}\n`);
  });
}
