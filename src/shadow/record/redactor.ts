import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { bodyKindOf, decodeBody } from '../compare/body-kind.js';
import { headerValue } from '../compare/compare-responses.js';
import type { DiffEntry } from '../compare/diff-entry.js';
import type { PathSegment } from '../compare/json-path.js';
import { anyGlobMatches, parsePathGlob } from '../compare/json-path.js';
import type { ShadowPolicy } from '../shadow-policy.js';

export const REDACTED = '[REDACTED]';

/** Secrets shorter than this are not scrubbed from free text (they would match everywhere). */
const MIN_SCRUB_LENGTH = 4;
/** A diff value bigger than this (serialised) is stored as a truncated string. */
const MAX_DIFF_VALUE_CHARS = 1024;

/**
 * Redacts one exchange before anything about it is stored (samples and the examples in field
 * statistics). Two layers:
 *  1. by name: the route's `redact` headers and JSON paths (globs) become "[REDACTED]", in the
 *     request, both responses and every diff entry (including values nested inside a diff);
 *  2. by value: every secret removed in layer 1 is remembered, and `seal()` scrubs any other
 *     occurrence of it (a candidate error page echoing the password, a text body) from the
 *     serialised result. That is what makes "redaction never stores a secret" hold for bodies
 *     that are not JSON.
 * One Redactor per exchange; it is not shared.
 */
export class Redactor {
  private readonly secrets = new Set<string>();
  constructor(private readonly policy: ShadowPolicy) {}

  private remember(v: unknown): void {
    if (typeof v === 'string') {
      if (v.length >= MIN_SCRUB_LENGTH) this.secrets.add(v);
      // "Bearer abc…" / "Basic abc…": the credential alone may appear elsewhere too.
      const space = v.indexOf(' ');
      if (space > 0 && v.length - space - 1 >= MIN_SCRUB_LENGTH) this.secrets.add(v.slice(space + 1));
      // Cookie pairs: each value is a secret on its own.
      for (const pair of v.split(';')) {
        const eq = pair.indexOf('=');
        const val = eq >= 0 ? pair.slice(eq + 1).trim() : '';
        if (val.length >= MIN_SCRUB_LENGTH) this.secrets.add(val);
      }
    } else if (typeof v === 'number' || typeof v === 'boolean') {
      if (String(v).length >= MIN_SCRUB_LENGTH) this.secrets.add(String(v));
    } else if (v !== null && typeof v === 'object') {
      for (const x of Object.values(v as Record<string, unknown>)) this.remember(x);
    }
  }

  headers(h: IncomingHttpHeaders): Record<string, string> {
    const out: Record<string, string> = {};
    for (const name of Object.keys(h)) {
      const v = headerValue(h, name);
      if (v === undefined) continue;
      const lower = name.toLowerCase();
      if (this.policy.redact.headers.has(lower)) {
        this.remember(v);
        out[lower] = REDACTED;
      } else {
        out[lower] = v;
      }
    }
    return out;
  }

  /** A deep copy of `value` (found at `base`) with every redacted path replaced. */
  json(value: unknown, base: PathSegment[] = []): unknown {
    const globs = this.policy.redact.json;
    if (globs.length === 0) return value;
    const walk = (v: unknown, path: PathSegment[]): unknown => {
      if (anyGlobMatches(globs, path)) {
        this.remember(v);
        return REDACTED;
      }
      if (Array.isArray(v)) return v.map((x, i) => walk(x, [...path, i]));
      if (v !== null && typeof v === 'object') {
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = walk(x, [...path, k]);
        return out;
      }
      return v;
    };
    return walk(value, base);
  }

  /** A stored body: redacted (JSON, forms), truncated, or described when binary. */
  body(body: Buffer | 'too-large' | null, headers: IncomingHttpHeaders): string {
    if (body === null || body.length === 0) return '';
    if (body === 'too-large') return '<too large: not kept>';
    const encoding = headerValue(headers, 'content-encoding');
    const decoded = decodeBody(body, encoding, this.policy.maxBodyBytes);
    if (!decoded.ok) return `<${encoding}-encoded, ${body.length} bytes: ${decoded.reason}>`;
    body = decoded.body;
    const ct = headerValue(headers, 'content-type');
    const kind = bodyKindOf(ct);
    const limit = this.policy.sampleBodyBytes;
    if (kind === 'binary') {
      return `<binary ${body.length} bytes sha256:${createHash('sha256').update(body).digest('hex')}>`;
    }
    let text = body.toString('utf8');
    if (kind === 'json') {
      try {
        text = JSON.stringify(this.json(JSON.parse(text)));
      } catch {
        // Not JSON after all: stored as text; seal() still scrubs remembered secrets.
      }
    } else if (ct && ct.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
      const form = new URLSearchParams(text);
      const obj: Record<string, string> = Object.fromEntries(form);
      const red = this.json(obj) as Record<string, string>;
      text = new URLSearchParams(red).toString();
    }
    return text.length > limit ? `${text.slice(0, limit)}…[truncated ${text.length - limit} chars]` : text;
  }

  diffs(diffs: readonly DiffEntry[]): DiffEntry[] {
    return diffs.map((d) => {
      if (d.path.startsWith('headers.')) {
        if (!this.policy.redact.headers.has(d.path.slice('headers.'.length))) return d;
        this.remember(d.primary);
        this.remember(d.candidate);
        return { ...d, primary: d.primary === null ? null : REDACTED, candidate: d.candidate === null ? null : REDACTED };
      }
      if (!d.path.startsWith('$')) return d;
      const segs = segmentsOf(d.path);
      return { ...d, primary: clip(this.json(d.primary, segs)), candidate: clip(this.json(d.candidate, segs)) };
    });
  }

  /**
   * Scrubs every remembered secret from a finished, JSON-safe object. Call last, after every part
   * of the exchange went through headers()/json()/body()/diffs().
   */
  seal<T>(obj: T): T {
    if (this.secrets.size === 0) return obj;
    let text = JSON.stringify(obj);
    // Longest first, so a secret that contains another is removed whole.
    for (const s of [...this.secrets].sort((a, b) => b.length - a.length)) {
      const escaped = JSON.stringify(s).slice(1, -1);
      text = text.split(escaped).join(REDACTED);
    }
    return JSON.parse(text) as T;
  }
}

function clip(v: unknown): unknown {
  if (v === null || typeof v !== 'object') {
    return typeof v === 'string' && v.length > MAX_DIFF_VALUE_CHARS ? `${v.slice(0, MAX_DIFF_VALUE_CHARS)}…` : v;
  }
  const s = JSON.stringify(v);
  return s.length > MAX_DIFF_VALUE_CHARS ? `${s.slice(0, MAX_DIFF_VALUE_CHARS)}…` : v;
}

/** `$.items[3].price` back to `['items', 3, 'price']` (the differ's own format). */
function segmentsOf(path: string): PathSegment[] {
  const r = parsePathGlob(path);
  if (!r.ok) return [];
  return r.glob.tokens.map((t) => (t.t === 'key' || t.t === 'index' ? t.v : '*'));
}
