#!/usr/bin/env node
import { Command } from 'commander';
import { FicusError } from '../errors.js';
import { registerShadowCommands } from '../shadow/report/shadow-commands.js';
import { registerCdcCommands } from './cdc-commands.js';
import { registerFlagsCommands } from './flags-command.js';
import { registerRulesCommands } from './rules-command.js';
import { registerSchemaCommand } from './schema-command.js';
import { registerStartCommand } from './start-command.js';
import { registerValidateCommand } from './validate-command.js';

/** The `ficus` command line: thin over the programmatic API and the admin API. */
export function buildProgram(): Command {
  const program = new Command();
  program.name('ficus').description('strangler-fig migration proxy: route, shadow, sync and roll back').version('0.1.0');
  registerStartCommand(program);
  registerValidateCommand(program);
  registerSchemaCommand(program);
  registerRulesCommands(program);
  registerFlagsCommands(program);
  registerShadowCommands(program);
  registerCdcCommands(program);
  return program;
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  // Expected failures (bad input, unreachable admin API or Redis) end with one clear line, exit 1.
  process.stderr.write(`ficus: ${err instanceof FicusError ? `${err.code}: ` : ''}${(err as Error).message}\n`);
  process.exitCode = 1;
}
