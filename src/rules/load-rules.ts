import type { Loaded } from '../config/load-yaml-file.js';
import { loadYamlFile, validateYaml } from '../config/load-yaml-file.js';
import type { RuleSetConfig } from './rules-config.js';
import { rulesSchema } from './rules-schema.js';
import { checkRules } from './validate-rules.js';

/** Reads and validates a rules file; every problem comes back located, none is thrown. */
export function loadRulesFile(file: string): Promise<Loaded<RuleSetConfig>> {
  return loadYamlFile<RuleSetConfig>(file, rulesSchema, checkRules);
}

export function parseRules(text: string, file = '<rules>'): Loaded<RuleSetConfig> {
  return validateYaml<RuleSetConfig>(text, file, rulesSchema, checkRules);
}
