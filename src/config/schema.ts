import { didYouMean } from './did-you-mean.js';
import { parseDuration, parseSize } from './duration.js';
import type { ConfigProblem } from './problems.js';
import type { Locator, PathKey } from './yaml-source.js';

/**
 * A small schema language for ficus's YAML files. One description drives both validation (every
 * problem reported, each located) and the published JSON Schema (for editor completion), so the
 * two cannot drift apart.
 */
export type Schema =
  | { readonly type: 'string'; readonly description?: string; readonly enum?: readonly string[]; readonly pattern?: RegExp; readonly patternHint?: string }
  | { readonly type: 'number'; readonly description?: string; readonly min?: number; readonly max?: number; readonly integer?: boolean }
  | { readonly type: 'boolean'; readonly description?: string }
  | { readonly type: 'duration'; readonly description?: string }
  | { readonly type: 'size'; readonly description?: string }
  | { readonly type: 'object'; readonly description?: string; readonly properties: Readonly<Record<string, Schema>>; readonly required?: readonly string[] }
  | { readonly type: 'map'; readonly description?: string; readonly values: Schema }
  | { readonly type: 'array'; readonly description?: string; readonly items: Schema; readonly minItems?: number }
  | { readonly type: 'union'; readonly description?: string; readonly options: readonly Schema[] };

type Opt<T> = Omit<T, 'type'>;
type Of<K extends Schema['type']> = Extract<Schema, { type: K }>;

export const s = {
  string: (o: Opt<Of<'string'>> = {}): Schema => ({ type: 'string', ...o }),
  number: (o: Opt<Of<'number'>> = {}): Schema => ({ type: 'number', ...o }),
  boolean: (o: Opt<Of<'boolean'>> = {}): Schema => ({ type: 'boolean', ...o }),
  duration: (o: Opt<Of<'duration'>> = {}): Schema => ({ type: 'duration', ...o }),
  size: (o: Opt<Of<'size'>> = {}): Schema => ({ type: 'size', ...o }),
  object: (properties: Record<string, Schema>, o: Omit<Opt<Of<'object'>>, 'properties'> = {}): Schema => ({ type: 'object', properties, ...o }),
  map: (values: Schema, o: Omit<Opt<Of<'map'>>, 'values'> = {}): Schema => ({ type: 'map', values, ...o }),
  array: (items: Schema, o: Omit<Opt<Of<'array'>>, 'items'> = {}): Schema => ({ type: 'array', items, ...o }),
  union: (options: Schema[], o: Omit<Opt<Of<'union'>>, 'options'> = {}): Schema => ({ type: 'union', options, ...o }),
};

function kindOf(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** Which JS kinds a schema accepts, for choosing a union branch and for messages. */
function accepts(schema: Schema): string[] {
  switch (schema.type) {
    case 'string': return ['string'];
    case 'number': return ['number'];
    case 'boolean': return ['boolean'];
    case 'duration':
    case 'size': return ['string', 'number'];
    case 'object':
    case 'map': return ['object'];
    case 'array': return ['array'];
    case 'union': return schema.options.flatMap(accepts);
  }
}

function describe(schema: Schema): string {
  switch (schema.type) {
    case 'duration': return 'a duration like 5s or 250ms';
    case 'size': return 'a size like 512kb or 1mb';
    case 'object':
    case 'map': return 'a mapping';
    case 'array': return 'a list';
    case 'union': return schema.options.map(describe).join(' or ');
    default: return `a ${schema.type}`;
  }
}

/** `routes[2].match.path` */
export function formatPath(path: readonly PathKey[]): string {
  let out = '';
  for (const k of path) out += typeof k === 'number' ? `[${k}]` : out === '' ? k : `.${k}`;
  return out;
}

export class SchemaValidator {
  readonly problems: ConfigProblem[] = [];
  constructor(private readonly file: string, private readonly locate: Locator) {}

  report(path: readonly PathKey[], message: string, key = false): void {
    const { line, col } = this.locate(path, key);
    this.problems.push({ file: this.file, line, col, message });
  }

  validate(value: unknown, schema: Schema, path: readonly PathKey[] = []): void {
    const where = path.length === 0 ? 'the file' : `"${formatPath(path)}"`;
    const kind = kindOf(value);
    if (!accepts(schema).includes(kind)) {
      this.report(path, `${where} must be ${describe(schema)}, got ${kind === 'null' ? 'nothing' : kind}`);
      return;
    }
    switch (schema.type) {
      case 'string': {
        const v = value as string;
        if (schema.enum && !schema.enum.includes(v)) {
          this.report(path, `${where} must be one of ${schema.enum.join(', ')}, got "${v}"${didYouMean(v, schema.enum)}`);
        } else if (schema.pattern && !schema.pattern.test(v)) {
          this.report(path, `${where} must be ${schema.patternHint ?? `a string matching ${schema.pattern}`}, got "${v}"`);
        }
        return;
      }
      case 'number': {
        const v = value as number;
        if (schema.integer && !Number.isInteger(v)) this.report(path, `${where} must be a whole number, got ${v}`);
        else if (schema.min !== undefined && v < schema.min) this.report(path, `${where} must be at least ${schema.min}, got ${v}`);
        else if (schema.max !== undefined && v > schema.max) this.report(path, `${where} must be at most ${schema.max}, got ${v}`);
        return;
      }
      case 'duration':
        if (parseDuration(value) === null) this.report(path, `${where} must be ${describe(schema)}, got "${String(value)}"`);
        return;
      case 'size':
        if (parseSize(value) === null) this.report(path, `${where} must be ${describe(schema)}, got "${String(value)}"`);
        return;
      case 'boolean':
        return;
      case 'object': {
        const obj = value as Record<string, unknown>;
        const known = Object.keys(schema.properties);
        for (const key of Object.keys(obj)) {
          const sub = schema.properties[key];
          if (sub === undefined) {
            this.report([...path, key], `unknown key "${key}" in ${where}${didYouMean(key, known)}`, true);
          } else if (obj[key] !== undefined && obj[key] !== null) {
            this.validate(obj[key], sub, [...path, key]);
          } else if (schema.required?.includes(key)) {
            this.report([...path, key], `"${formatPath([...path, key])}" must not be empty`, true);
          }
        }
        for (const req of schema.required ?? []) {
          if (!(req in obj)) this.report(path, `${where} is missing required key "${req}"`);
        }
        return;
      }
      case 'map': {
        const obj = value as Record<string, unknown>;
        for (const key of Object.keys(obj)) this.validate(obj[key], schema.values, [...path, key]);
        return;
      }
      case 'array': {
        const arr = value as unknown[];
        if (schema.minItems !== undefined && arr.length < schema.minItems) {
          this.report(path, `${where} must have at least ${schema.minItems} item${schema.minItems === 1 ? '' : 's'}`);
        }
        arr.forEach((item, i) => this.validate(item, schema.items, [...path, i]));
        return;
      }
      case 'union': {
        const branch = schema.options.find((o) => accepts(o).includes(kind));
        if (branch) this.validate(value, branch, path);
        return;
      }
    }
  }
}

/** Renders a schema as JSON Schema (draft 2020-12) for editors. */
export function toJsonSchema(schema: Schema): Record<string, unknown> {
  const d = schema.description ? { description: schema.description } : {};
  switch (schema.type) {
    case 'string':
      return { type: 'string', ...d, ...(schema.enum ? { enum: [...schema.enum] } : {}), ...(schema.pattern ? { pattern: schema.pattern.source } : {}) };
    case 'number':
      return { type: schema.integer ? 'integer' : 'number', ...d, ...(schema.min !== undefined ? { minimum: schema.min } : {}), ...(schema.max !== undefined ? { maximum: schema.max } : {}) };
    case 'boolean':
      return { type: 'boolean', ...d };
    case 'duration':
      return { ...d, anyOf: [{ type: 'string', pattern: '^\\d+(\\.\\d+)?(ms|s|m|h)$' }, { type: 'number', minimum: 0 }] };
    case 'size':
      return { ...d, anyOf: [{ type: 'string', pattern: '^\\d+(\\.\\d+)?\\s*([kKmMgG]i?[bB]|[bB])$' }, { type: 'integer', minimum: 0 }] };
    case 'object':
      return {
        type: 'object', ...d, additionalProperties: false,
        properties: Object.fromEntries(Object.entries(schema.properties).map(([k, v]) => [k, toJsonSchema(v)])),
        ...(schema.required?.length ? { required: [...schema.required] } : {}),
      };
    case 'map':
      return { type: 'object', ...d, additionalProperties: toJsonSchema(schema.values) };
    case 'array':
      return { type: 'array', ...d, items: toJsonSchema(schema.items), ...(schema.minItems !== undefined ? { minItems: schema.minItems } : {}) };
    case 'union':
      return { ...d, anyOf: schema.options.map(toJsonSchema) };
  }
}
