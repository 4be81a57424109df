#!/usr/bin/env node
import { Command } from 'commander';
import { registerCdcCommands } from './cdc-commands.js';

/**
 * A minimal entry with only the CDC commands (`node dist/src/cli/cdc-main.js cdc run -c FILE`), used
 * by the crash test and the benchmark; the full `ficus` CLI (src/cli/main.ts) registers the same commands.
 */
const program = new Command('ficus');
registerCdcCommands(program);
await program.parseAsync(process.argv);
