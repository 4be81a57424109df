import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { ShadowPolicy } from '../shadow-policy.js';
import { bodyKindOf, decodeBody } from './body-kind.js';
import type { DiffEntry } from './diff-entry.js';
import { diffJson } from './json-diff.js';

/** A fully read, bounded response: what the forwarder captured or the dispatcher read. */
export interface ResponseCopy {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export type Comparison = { readonly ok: true; readonly diffs: readonly DiffEntry[] } | { readonly ok: false; readonly reason: 'too-large' };

export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(', ') : String(v);
}

/** Whitespace runs collapse to one space and the ends are trimmed. */
export function normalizeWhitespace(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

const EXCERPT = 80;

/** The two texts around their first difference, so a sample shows where they part. */
function excerpts(a: string, b: string): [string, string] {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const from = Math.max(0, i - EXCERPT / 4);
  const cut = (s: string) => (from > 0 ? '…' : '') + s.slice(from, from + EXCERPT) + (s.length > from + EXCERPT ? '…' : '');
  return [cut(a), cut(b)];
}

function sha256(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

function bodyDiff(primary: unknown, candidate: unknown): DiffEntry {
  return { path: 'body', field: 'body', kind: 'changed', primary, candidate };
}

/**
 * Compares status, the route's listed headers and the body, chosen by the primary's content
 * type: JSON structurally (falling back to text when either side does not parse), text by
 * normalized whitespace, anything else by sha256.
 */
export function compareResponses(primary: ResponseCopy, candidate: ResponseCopy, policy: ShadowPolicy): Comparison {
  const diffs: DiffEntry[] = [];
  // 1. Status.
  if (primary.status !== candidate.status) {
    diffs.push({ path: 'status', field: 'status', kind: 'changed', primary: primary.status, candidate: candidate.status });
  }
  // 2. Listed headers.
  for (const name of policy.compareHeaders) {
    const a = headerValue(primary.headers, name);
    const b = headerValue(candidate.headers, name);
    if (a === b) continue;
    const path = `headers.${name}`;
    if (b === undefined) diffs.push({ path, field: path, kind: 'missing', primary: a, candidate: null });
    else if (a === undefined) diffs.push({ path, field: path, kind: 'extra', primary: null, candidate: b });
    else diffs.push({ path, field: path, kind: 'changed', primary: a, candidate: b });
  }
  // 3. Bodies, decoded from their Content-Encoding.
  const pa = decodeBody(primary.body, headerValue(primary.headers, 'content-encoding'), policy.maxBodyBytes);
  const pb = decodeBody(candidate.body, headerValue(candidate.headers, 'content-encoding'), policy.maxBodyBytes);
  if ((!pa.ok && pa.reason === 'too-large') || (!pb.ok && pb.reason === 'too-large')) return { ok: false, reason: 'too-large' };
  const a = pa.ok ? pa.body : primary.body;
  const b = pb.ok ? pb.body : candidate.body;
  if (a.equals(b)) return { ok: true, diffs };

  const kind = bodyKindOf(headerValue(primary.headers, 'content-type'));
  if (kind === 'json') {
    const ja = parseJson(a);
    const jb = parseJson(b);
    if (ja.ok && jb.ok) {
      diffs.push(...diffJson(ja.value, jb.value, policy.json));
      return { ok: true, diffs };
    }
  }
  if (kind === 'json' || kind === 'text') {
    const ta = normalizeWhitespace(a.toString('utf8'));
    const tb = normalizeWhitespace(b.toString('utf8'));
    if (ta !== tb) diffs.push(bodyDiff(...excerpts(ta, tb)));
    return { ok: true, diffs };
  }
  diffs.push(bodyDiff(sha256(a), sha256(b)));
  return { ok: true, diffs };
}

function parseJson(b: Buffer): { ok: true; value: unknown } | { ok: false } {
  if (b.length === 0) return { ok: true, value: null };
  try {
    return { ok: true, value: JSON.parse(b.toString('utf8')) };
  } catch {
    return { ok: false };
  }
}
