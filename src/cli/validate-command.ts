import type { Command } from 'commander';
import { formatProblem } from '../config/problems.js';
import type { ConfigProblem } from '../config/problems.js';
import { sortProblems } from '../config/problems.js';
import { compileFlagsSection } from '../flags/flags-config.js';
import { validateFlagFiles } from '../flags/validate-flag-files.js';
import type { Loaded } from '../config/load-yaml-file.js';
import type { RuleSetConfig } from '../rules/rules-config.js';
import { loadRulesFile } from '../rules/load-rules.js';

/** The rules file, then the flag files its `flags:` section names (flag keys checked against them). */
async function validateRules(file: string): Promise<readonly ConfigProblem[]> {
  const r: Loaded<RuleSetConfig> = await loadRulesFile(file);
  if (!r.ok) return r.problems;
  const flags = r.value.flags;
  if (flags === undefined) return [];
  const keys = new Map<string, { file: string; line: number; col: number }>();
  (r.value.routes ?? []).forEach((route, i) => {
    if (route.flag && !keys.has(route.flag.key)) keys.set(route.flag.key, { file, ...r.source.locate(['routes', i, 'flag', 'key']) });
  });
  return sortProblems(await validateFlagFiles(compileFlagsSection(flags, process.cwd()), keys));
}

/** `ficus validate FILE...`: exit 0 when every file is valid; else one located line per problem. */
export function registerValidateCommand(program: Command): void {
  program
    .command('validate')
    .description('check rules files (and the flag files they name); prints FILE:LINE:COL: message for every problem')
    .argument('<files...>', 'rules files to check')
    .option('--json', 'print the result as JSON')
    .action(async (files: string[], opts: { json?: boolean }) => {
      const results = [];
      for (const file of files) {
        const problems = await validateRules(file);
        results.push({ file, ok: problems.length === 0, problems });
      }
      const bad = results.filter((r) => !r.ok);
      if (opts.json) {
        process.stdout.write(JSON.stringify({ ok: bad.length === 0, files: results }, null, 2) + '\n');
      } else {
        for (const r of results) {
          if (r.ok) process.stdout.write(`${r.file}: ok\n`);
          else for (const p of r.problems) process.stderr.write(formatProblem(p) + '\n');
        }
      }
      process.exitCode = bad.length === 0 ? 0 : 1;
    });
}
