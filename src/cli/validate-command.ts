import type { Command } from 'commander';
import { formatProblem } from '../config/problems.js';
import { loadRulesFile } from '../rules/load-rules.js';

/** `ficus validate FILE...`: exit 0 when every file is valid; else one located line per problem. */
export function registerValidateCommand(program: Command): void {
  program
    .command('validate')
    .description('check rules files; prints FILE:LINE:COL: message for every problem')
    .argument('<files...>', 'rules files to check')
    .option('--json', 'print the result as JSON')
    .action(async (files: string[], opts: { json?: boolean }) => {
      const results = [];
      for (const file of files) {
        const r = await loadRulesFile(file);
        results.push({ file, ok: r.ok, problems: r.ok ? [] : r.problems });
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
