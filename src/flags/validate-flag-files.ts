import { readFile } from 'node:fs/promises';
import type { ConfigProblem } from '../config/problems.js';
import { parseYamlSource } from '../config/yaml-source.js';
import type { FlagsSettings } from './flags-config.js';
import { loadFlagsFile } from './local/flags-file-schema.js';

/**
 * `ficus validate`'s look at the files the `flags:` block names: the local flags file gets the full
 * schema check (every problem located); a LaunchDarkly offline file must parse and hold `flags`
 * and/or `flagValues` mappings (the SDK's file data source format). Optionally, `routeFlagKeys`
 * (flag key → where the rules use it) are checked against the local file's flags.
 */
export async function validateFlagFiles(
  settings: FlagsSettings,
  routeFlagKeys: ReadonlyMap<string, { file: string; line: number; col: number }> = new Map(),
): Promise<ConfigProblem[]> {
  if (settings.provider === 'local') {
    const loaded = await loadFlagsFile(settings.file);
    if (!loaded.ok) return [...loaded.problems];
    const problems: ConfigProblem[] = [];
    for (const [key, at] of routeFlagKeys) {
      if (!(key in loaded.value.flags)) problems.push({ ...at, message: `flag "${key}" is not defined in ${settings.file}; the route will always serve its default` });
    }
    return problems;
  }
  if (settings.file === null) return [];
  const file = settings.file;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message;
    return [{ file, line: 1, col: 1, message: `cannot read file: ${reason}` }];
  }
  // JSON is YAML, so one parser locates syntax errors in both formats.
  const source = parseYamlSource(text, file);
  if (source.problems.length > 0) return [...source.problems];
  const v = source.value as Record<string, unknown> | null;
  const problems: ConfigProblem[] = [];
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    return [{ file, line: 1, col: 1, message: 'a LaunchDarkly flag data file must be a mapping with "flags", "flagValues" or "segments"' }];
  }
  for (const k of Object.keys(v)) {
    if (!['flags', 'flagValues', 'segments'].includes(k)) {
      const at = source.locate([k], true);
      problems.push({ file, ...at, message: `unknown key "${k}" in a LaunchDarkly flag data file (expected flags, flagValues, segments)` });
    }
  }
  return problems;
}
