import { toJsonSchema } from '../config/schema.js';
import { rulesSchema } from './rules-schema.js';

export const RULES_SCHEMA_ID = 'https://ficus.dev/schema/rules-v1.json';

/** The published JSON Schema (rules/ficus-rules.schema.json is this, checked by a test). */
export function rulesJsonSchema(): Record<string, unknown> {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: RULES_SCHEMA_ID,
    title: 'ficus rules file',
    ...toJsonSchema(rulesSchema),
  };
}
