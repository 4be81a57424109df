import { FicusError } from '../../errors.js';
import type { CdcModel } from '../config/cdc-model.js';
import type { ReplayResult } from './knex-sink.js';
import { createSink } from './knex-sink.js';

export interface ReplayCommandOptions {
  readonly json: boolean;
  /** Only this sink (default: every sink in the config). */
  readonly sink?: string;
  /** Only these dead-letter ids (default: all of the sink's). */
  readonly ids?: readonly number[];
  readonly out?: (s: string) => void;
  readonly err?: (s: string) => void;
}

/**
 * `ficus cdc dead-letters replay --config FILE [--sink NAME] [--id N ...] [--json]` once the
 * config is loaded and checked: replays each sink's dead letters (see Sink.replayDeadLetters).
 * Exit 0 when none failed again, 1 when some stay parked, 2 when a sink could not be reached or
 * the named sink is not in the config.
 */
export async function runReplayDeadLettersCommand(model: CdcModel, options: ReplayCommandOptions): Promise<number> {
  const out = options.out ?? ((s: string) => process.stdout.write(`${s}\n`));
  const err = options.err ?? ((s: string) => process.stderr.write(`${s}\n`));
  const sinks = model.sinks.filter((s) => options.sink === undefined || s.name === options.sink);
  if (sinks.length === 0) {
    err(`no sink named "${options.sink}" in ${model.file}; sinks: ${model.sinks.map((s) => s.name).join(', ')}`);
    return 2;
  }
  const results: Array<{ sink: string } & ReplayResult> = [];
  for (const sm of sinks) {
    const sink = await createSink(sm, { sourceId: model.source.slot });
    try {
      results.push({ sink: sm.name, ...(await sink.replayDeadLetters(options.ids ? { ids: options.ids } : {})) });
    } catch (e) {
      if (!(e instanceof FicusError)) throw e;
      err(`${e.code}: ${e.message}${e.cause instanceof Error ? `: ${e.cause.message}` : ''}`);
      return 2;
    } finally {
      await sink.close();
    }
  }
  out(options.json ? JSON.stringify({ sinks: results }) : results.map((r) => `${r.sink}: ${r.replayed} replayed, ${r.failed} still failing`).join('\n'));
  return results.some((r) => r.failed > 0) ? 1 : 0;
}
