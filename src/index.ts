/**
 * The programmatic API (package "main"): start the proxy, run CDC, and the error registry. The CLI
 * (`src/cli/main.ts`) is a thin layer over the same functions.
 */
export { startFicus } from './main.js';
export type { FicusHandle, StartOptions } from './main.js';
export { ERRORS, FicusError, ficusError, isRetriable } from './errors.js';
export type { ErrorCode } from './errors.js';
export { loadRulesFile, parseRules } from './rules/load-rules.js';
export type { RuleSetConfig } from './rules/rules-config.js';
export { rulesJsonSchema } from './rules/rules-json-schema.js';
export { runCdc, statusCdc, reconcileCdc } from './cli/cdc-commands.js';
