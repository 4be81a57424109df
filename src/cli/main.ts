#!/usr/bin/env node
import { Command } from 'commander';
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
  return program;
}

await buildProgram().parseAsync(process.argv);
