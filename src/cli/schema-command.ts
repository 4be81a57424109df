import type { Command } from 'commander';
import { rulesJsonSchema } from '../rules/rules-json-schema.js';

/** `ficus schema`: prints the JSON Schema of the rules file, for editor completion. */
export function registerSchemaCommand(program: Command): void {
  program
    .command('schema')
    .description('print the JSON Schema of the rules file format (for editor completion)')
    .action(() => {
      process.stdout.write(JSON.stringify(rulesJsonSchema(), null, 2) + '\n');
    });
}
