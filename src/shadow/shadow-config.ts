import type { Schema, SchemaValidator } from '../config/schema.js';
import { s } from '../config/schema.js';
import type { PathKey } from '../config/yaml-source.js';
import { parsePathGlob } from './compare/json-path.js';

/**
 * The `shadow:` block of a route, as the user wrote it (validated, not yet compiled). Every key is
 * optional; `SHADOW_DEFAULTS` fills the gaps and `compileShadowPolicy` turns the result into the
 * immutable `ShadowPolicy` the hot path reads.
 */
export interface ShadowConfig {
  sample?: number;
  writes?: boolean;
  maxBodyBytes?: number | string;
  timeout?: number | string;
  queueSize?: number;
  concurrency?: number;
  forward?: { cookies?: boolean; authorization?: boolean };
  compare?: {
    headers?: string[];
    ignore?: string[];
    unorderedArrays?: (string | { path: string; key?: string })[];
    numericTolerance?: number;
  };
  noise?: { secondary?: 'legacy' | 'new'; sample?: number };
  redact?: string[];
  sampleBodyBytes?: number | string;
}

/** Route modes (issue 5): who answers the client and who is compared against it. */
export const SHADOW_MODES = ['legacy', 'shadow', 'live', 'migrated'] as const;
export type RouteMode = (typeof SHADOW_MODES)[number];

/** Every default in one place; README "Shadow traffic" documents the same values. */
export const SHADOW_DEFAULTS = Object.freeze({
  sample: 1.0,
  writes: false,
  maxBodyBytes: 1024 * 1024,
  timeoutMs: 5_000,
  queueSize: 1_000,
  concurrency: 16,
  forwardCookies: false,
  forwardAuthorization: false,
  compareHeaders: Object.freeze(['content-type']) as readonly string[],
  ignore: Object.freeze([]) as readonly string[],
  numericTolerance: 0,
  noiseSample: 0.2,
  /** Redacted on top of the user's list, always: these carry credentials. */
  alwaysRedactHeaders: Object.freeze(['authorization', 'proxy-authorization', 'cookie', 'set-cookie']) as readonly string[],
  /** How much of each body a stored mismatch sample keeps. */
  sampleBodyBytes: 4096,
  /** Differences collected per comparison before the differ stops. */
  maxDiffs: 100,
});

const jsonPath = s.string({ description: 'a JSON path glob: $.a.b, $.items[*].id, $.**.updated_at' });

/** The Schema piece the rules file embeds under each route as `shadow:`. */
export const shadowSchema: Schema = s.object({
  sample: s.number({ min: 0, max: 1, description: 'fraction of eligible requests copied to the candidate (default 1.0)' }),
  writes: s.boolean({ description: 'copy non-safe methods (POST, PUT, PATCH, DELETE...) too (default false)' }),
  maxBodyBytes: s.size({ description: 'larger request or response bodies are recorded as "skipped: too large" (default 1mb)' }),
  timeout: s.duration({ description: 'candidate call timeout, headers and body (default 5s)' }),
  queueSize: s.number({ integer: true, min: 1, description: 'copies waiting for a candidate slot; beyond it copies are dropped and counted (default 1000)' }),
  concurrency: s.number({ integer: true, min: 1, description: 'candidate calls in flight per route (default 16)' }),
  forward: s.object({
    cookies: s.boolean({ description: 'send the Cookie header to the candidate (default false)' }),
    authorization: s.boolean({ description: 'send the Authorization header to the candidate (default false)' }),
  }),
  compare: s.object({
    headers: s.array(s.string(), { description: 'response headers compared (default [content-type])' }),
    ignore: s.array(jsonPath, { description: 'JSON paths never compared' }),
    unorderedArrays: s.array(s.union([jsonPath, s.object({ path: jsonPath, key: s.string() }, { required: ['path'] })]), {
      description: 'arrays compared as multisets, or matched by a key field',
    }),
    numericTolerance: s.number({ min: 0, description: 'relative tolerance for numbers (default 0: exact)' }),
  }),
  noise: s.object({
    secondary: s.string({ enum: ['legacy', 'new'], description: 'the service called a second time to learn non-deterministic fields' }),
    sample: s.number({ min: 0, max: 1, description: 'fraction of shadowed requests also sent to the secondary (default 0.2)' }),
  }),
  redact: s.array(s.string({ pattern: /^(headers\.[A-Za-z0-9!#$%&'*+.^_`|~-]+|\$.*)$/, patternHint: 'headers.NAME or a JSON path like $.password' }), {
    description: 'headers and JSON paths replaced by "[REDACTED]" before anything is stored',
  }),
  sampleBodyBytes: s.size({ description: 'bytes of each body kept in a stored mismatch sample (default 4kb)' }),
});

/**
 * Semantic checks the schema cannot express (glob syntax). The lead calls this from the rules
 * file's SemanticCheck with the route's `shadow` value and its path, e.g.
 * `checkShadowConfig(route.shadow, v, ['routes', i, 'shadow'])`.
 */
export function checkShadowConfig(value: unknown, v: SchemaValidator, at: readonly PathKey[]): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
  const cfg = value as ShadowConfig;
  const globAt = (glob: unknown, path: PathKey[]) => {
    if (typeof glob !== 'string') return;
    const r = parsePathGlob(glob);
    if (!r.ok) v.report(path, r.message);
  };
  const cmp = cfg.compare;
  if (cmp && typeof cmp === 'object') {
    if (Array.isArray(cmp.ignore)) cmp.ignore.forEach((g, i) => globAt(g, [...at, 'compare', 'ignore', i]));
    if (Array.isArray(cmp.unorderedArrays)) {
      cmp.unorderedArrays.forEach((u, i) => {
        if (typeof u === 'string') globAt(u, [...at, 'compare', 'unorderedArrays', i]);
        else if (u && typeof u === 'object') globAt(u.path, [...at, 'compare', 'unorderedArrays', i, 'path']);
      });
    }
  }
  if (Array.isArray(cfg.redact)) {
    cfg.redact.forEach((r, i) => {
      if (typeof r === 'string' && r.startsWith('$')) globAt(r, [...at, 'redact', i]);
    });
  }
}
