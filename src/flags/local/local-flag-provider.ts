import { ficusError } from '../../errors.js';
import { formatProblems } from '../../config/problems.js';
import type { Logger } from '../../observability/logger.js';
import type { RandomSource } from '../../util/clock.js';
import type { FlagContext, FlagProvider, FlagResult } from '../flag-provider.js';
import { FAILED } from '../flag-provider.js';
import { watchFileDebounced } from './flags-file-watcher.js';
import { loadFlagsFile } from './flags-file-schema.js';
import type { FlagOverride, LocalFlagModel } from './local-flag-model.js';
import { EMPTY_MODEL, applyOverrides, compileFlagsFile, evaluateLocal } from './local-flag-model.js';
import { RedisOverrideSource } from './redis-overrides.js';

export interface LocalFlagProviderOptions {
  /** The flags file, already resolved to a path. */
  readonly file: string;
  /** Shared overrides; null for file-only. */
  readonly redis: { readonly url: string; readonly keyPrefix: string; readonly pollIntervalMs: number } | null;
  readonly logger: Logger;
  readonly random?: RandomSource;
  /** Quiet time after the last write before a reload (default 100 ms). */
  readonly debounceMs?: number;
  /** Watch the file for changes (default true). */
  readonly watch?: boolean;
}

/**
 * Flags evaluated in-process from a YAML file, optionally with shared runtime overrides in Redis.
 *
 * Two inputs, one model: the compiled file (`fileModel`) and the overrides are combined into the
 * `model` that `evaluate` reads, rebuilt whenever either input changes and swapped as one
 * reference. Evaluation is synchronous and allocation-free.
 */
export class LocalFlagProvider implements FlagProvider {
  readonly name = 'local' as const;
  private fileModel: LocalFlagModel = EMPTY_MODEL;
  private overrides: ReadonlyMap<string, FlagOverride> = new Map();
  private model: LocalFlagModel = EMPTY_MODEL;
  private loaded = false;
  private watcher: { close(): void } | null = null;
  private redis: RedisOverrideSource | null = null;
  private readonly log: Logger;

  constructor(private readonly opts: LocalFlagProviderOptions) {
    this.log = opts.logger.child({ component: 'flags', provider: 'local' });
  }

  evaluate(flagKey: string, context: FlagContext): FlagResult {
    if (!this.loaded) return FAILED['provider-not-ready'];
    return evaluateLocal(this.model, flagKey, context);
  }

  ready(): boolean {
    return this.loaded;
  }

  /** The model evaluations read now (file plus overrides), for listing and the admin API. */
  current(): LocalFlagModel {
    return this.model;
  }

  /**
   * 1. load the file — the first load must succeed (like the rules, a bad file blocks start-up);
   * 2. watch it; 3. connect to Redis and read the overrides (never blocks start-up).
   */
  async start(): Promise<void> {
    const loaded = await loadFlagsFile(this.opts.file);
    if (!loaded.ok) throw ficusError('FICUS_ERR_CONFIG_INVALID', `\n${formatProblems(loaded.problems)}`);
    this.fileModel = compileFlagsFile(loaded.value);
    this.rebuild();
    this.loaded = true;
    this.log.info({ file: this.opts.file, flags: this.fileModel.flags.size }, 'flags file loaded');
    if (this.opts.watch ?? true) {
      this.watcher = watchFileDebounced(this.opts.file, this.opts.debounceMs ?? 100, () => void this.reload());
    }
    if (this.opts.redis) {
      this.redis = new RedisOverrideSource({
        ...this.opts.redis,
        logger: this.log,
        random: this.opts.random,
        onChange: (overrides, problems) => {
          this.overrides = overrides;
          for (const p of problems) this.log.warn({ code: 'FICUS_ERR_FLAG_OVERRIDE_INVALID' }, p);
          this.rebuild();
          this.log.info({ overrides: Object.fromEntries(overrides) }, 'flag overrides changed');
        },
      });
      await this.redis.start();
    }
  }

  /**
   * Re-reads the file. An invalid file is reported with every located problem and the last good
   * flags keep serving. Returns whether the new file was applied.
   */
  async reload(): Promise<boolean> {
    const loaded = await loadFlagsFile(this.opts.file);
    if (!loaded.ok) {
      this.log.error(
        { code: 'FICUS_ERR_CONFIG_INVALID', file: this.opts.file, problems: loaded.problems.map((p) => `${p.file}:${p.line}:${p.col}: ${p.message}`) },
        'flags file is invalid; the previous flags keep serving',
      );
      return false;
    }
    this.fileModel = compileFlagsFile(loaded.value);
    this.rebuild();
    this.log.info({ file: this.opts.file, flags: this.fileModel.flags.size }, 'flags file reloaded');
    return true;
  }

  /** Re-reads the Redis overrides now (the admin API's "refresh"; tests). */
  async refreshOverrides(): Promise<void> {
    await this.redis?.refresh();
  }

  private rebuild(): void {
    const { model, problems } = applyOverrides(this.fileModel, this.overrides);
    for (const p of problems) this.log.warn({ code: 'FICUS_ERR_FLAG_OVERRIDE_INVALID' }, p);
    this.model = model;
  }

  async close(): Promise<void> {
    this.watcher?.close();
    this.watcher = null;
    await this.redis?.close();
    this.redis = null;
  }
}
