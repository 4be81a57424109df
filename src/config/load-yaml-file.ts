import { readFile } from 'node:fs/promises';
import type { ConfigProblem } from './problems.js';
import { sortProblems } from './problems.js';
import type { Schema } from './schema.js';
import { SchemaValidator } from './schema.js';
import type { YamlSource } from './yaml-source.js';
import { parseYamlSource } from './yaml-source.js';

export type Loaded<T> =
  | { readonly ok: true; readonly value: T; readonly source: YamlSource }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

/**
 * Semantic checks run after the schema passes on a subtree; they report through the same
 * validator so every message is located. They run even when other parts had schema errors, so a
 * file with three mistakes gets three messages.
 */
export type SemanticCheck = (value: Record<string, unknown>, v: SchemaValidator) => void;

export function validateYaml<T>(text: string, file: string, schema: Schema, check?: SemanticCheck): Loaded<T> {
  const source = parseYamlSource(text, file);
  if (source.problems.length > 0) return { ok: false, problems: sortProblems(source.problems) };
  const v = new SchemaValidator(file, source.locate);
  v.validate(source.value, schema);
  if (check && source.value !== null && typeof source.value === 'object' && !Array.isArray(source.value)) {
    check(source.value as Record<string, unknown>, v);
  }
  if (v.problems.length > 0) return { ok: false, problems: sortProblems(v.problems) };
  return { ok: true, value: source.value as T, source };
}

export async function loadYamlFile<T>(file: string, schema: Schema, check?: SemanticCheck): Promise<Loaded<T>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message;
    return { ok: false, problems: [{ file, line: 1, col: 1, message: `cannot read file: ${reason}` }] };
  }
  return validateYaml<T>(text, file, schema, check);
}
