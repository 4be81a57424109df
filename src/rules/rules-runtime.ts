import { createHash } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { ConfigProblem } from '../config/problems.js';
import { formatProblem } from '../config/problems.js';
import { ficusError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { Clock } from '../util/clock.js';
import { parseRules } from './load-rules.js';
import type { RuleSetConfig } from './rules-config.js';
import { RulesFileWatcher } from './rules-file-watcher.js';
import type { RulesVersion } from './rules-history.js';
import { RulesHistory } from './rules-history.js';
import type { PoolProvider, RouteTable } from './route-table.js';
import { compileRouteTable } from './route-table.js';

export type ReloadResult =
  | { readonly ok: true; readonly changed: boolean; readonly version: string }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

export interface RulesRuntimeDeps {
  readonly logger: Logger;
  readonly clock: Clock;
  readonly pools: PoolProvider;
  /** called with every newly compiled table, in order */
  readonly activate: (table: RouteTable, config: RuleSetConfig) => void;
  readonly onReload?: (result: 'success' | 'failure' | 'unchanged') => void;
  /**
   * A last word on a valid config before it is activated (e.g. a change that needs a restart).
   * Returns a located refusal, or null to go ahead. Not consulted on the first load.
   */
  readonly veto?: (config: RuleSetConfig) => { path: (string | number)[]; message: string } | null;
}

/**
 * Owns the rules file: load → validate → compile → activate, on start, on file change and on
 * demand; keeps the history of good versions; rolls back by writing the previous good version
 * back to the file (so the file on disk and the running table always agree).
 */
export class RulesRuntime {
  readonly history = new RulesHistory();
  private watcher: RulesFileWatcher | null = null;
  private seq = 0;
  private reloading: Promise<ReloadResult> | null = null;
  private pending = false;
  private table: RouteTable | null = null;
  /** the config of the active table */
  config: RuleSetConfig | null = null;

  constructor(readonly file: string, private readonly deps: RulesRuntimeDeps) {}

  /** First load; blocks start-up and fails it when the file is invalid. */
  async load(): Promise<RouteTable> {
    const result = await this.loadOnce(true);
    if (!result.ok || this.table === null) {
      throw ficusError('FICUS_ERR_RULES_INVALID', result.ok ? 'no table' : '\n' + result.problems.map(formatProblem).join('\n'));
    }
    return this.table;
  }

  watch(): void {
    this.watcher = new RulesFileWatcher(this.file, () => void this.reload());
    this.watcher.start();
  }

  /** Reloads now. Concurrent calls coalesce: one more reload runs after the current one. */
  reload(): Promise<ReloadResult> {
    if (this.reloading !== null) {
      this.pending = true;
      return this.reloading;
    }
    this.reloading = this.loadOnce(false).finally(() => {
      this.reloading = null;
      if (this.pending) {
        this.pending = false;
        void this.reload();
      }
    });
    return this.reloading;
  }

  /** Writes the previous good version back to the rules file and reloads it. */
  async rollback(): Promise<ReloadResult & { restored?: string }> {
    const prev = this.history.previous;
    if (prev === null) throw ficusError('FICUS_ERR_RULES_NO_HISTORY', `only ${this.history.list().length} version(s) loaded`);
    const tmp = `${this.file}.ficus-rollback.tmp`;
    await writeFile(tmp, prev.text);
    await rename(tmp, this.file);
    const r = await this.reload();
    return r.ok ? { ...r, restored: prev.version } : r;
  }

  close(): void {
    this.watcher?.close();
  }

  private async loadOnce(force: boolean): Promise<ReloadResult> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      const problems = [{ file: this.file, line: 1, col: 1, message: `cannot read file: ${(err as Error).message}` }];
      return this.rejected(problems);
    }
    const hash = createHash('sha256').update(text).digest('hex').slice(0, 12);
    const current = this.history.current;
    if (current !== null && current.hash === hash && !force) {
      this.deps.onReload?.('unchanged');
      return { ok: true, changed: false, version: current.version };
    }
    const loaded = parseRules(text, this.file);
    if (!loaded.ok) return this.rejected(loaded.problems);
    const veto = force ? null : this.deps.veto?.(loaded.value) ?? null;
    if (veto !== null) {
      const at = loaded.source.locate(veto.path, true);
      return this.rejected([{ file: this.file, line: at.line, col: at.col, message: veto.message }]);
    }
    const version = `v${++this.seq}-${hash}`;
    const table = compileRouteTable(loaded.value, version, this.deps.pools);
    const record: RulesVersion = { version, hash, loadedAt: new Date(this.deps.clock.now()).toISOString(), text };
    this.history.record(record);
    this.table = table;
    this.config = loaded.value;
    this.deps.activate(table, loaded.value);
    this.deps.onReload?.('success');
    this.deps.logger.info({ rules: this.file, version, routes: table.routes.length, upstreams: table.upstreams.size }, 'rules loaded');
    return { ok: true, changed: true, version };
  }

  private rejected(problems: readonly ConfigProblem[]): ReloadResult {
    this.deps.onReload?.('failure');
    for (const p of problems) this.deps.logger.error({ rules: this.file, problem: formatProblem(p) }, `rules rejected, previous version keeps serving: ${formatProblem(p)}`);
    return { ok: false, problems };
  }
}
