import type { IncomingHttpHeaders } from 'node:http';
import type { KeySource } from '../rules/key-source.js';
import type { FlagContext } from '../flags/flag-provider.js';
import type { Decision, FlagContextSpec, RouteTarget } from '../rules/route-model.js';
import type { RandomSource } from '../util/clock.js';

/**
 * Reads a per-request key (sticky cohort, flag context) from its source. Returns null when the
 * request does not carry it.
 */
export function readKey(source: KeySource, headers: IncomingHttpHeaders, query: string, clientIp: string): string | null {
  switch (source.kind) {
    case 'ip':
      return clientIp;
    case 'header': {
      const v = headers[source.name];
      if (v === undefined) return null;
      return typeof v === 'string' ? v : v[0] ?? null;
    }
    case 'cookie':
      return cookieValue(headers.cookie, source.name);
    case 'query':
      return queryValue(query, source.name);
  }
}

export function cookieValue(header: string | undefined, name: string): string | null {
  if (header === undefined) return null;
  let start = 0;
  while (start < header.length) {
    let end = header.indexOf(';', start);
    if (end === -1) end = header.length;
    const eq = header.indexOf('=', start);
    if (eq !== -1 && eq < end && header.slice(start, eq).trim() === name) return header.slice(eq + 1, end).trim();
    start = end + 1;
  }
  return null;
}

export function queryValue(query: string, name: string): string | null {
  if (query.length < 2) return null;
  for (const part of query.slice(1).split('&')) {
    const eq = part.indexOf('=');
    const k = eq === -1 ? part : part.slice(0, eq);
    if (safeDecode(k) === name) return eq === -1 ? '' : safeDecode(part.slice(eq + 1));
  }
  return null;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

// Saved reference: String.prototype.charCodeAt stays fast even after a module subclasses String.
const charCodeAt = String.prototype.charCodeAt;

/** FNV-1a, 32 bit: stable across processes and versions, so cohorts survive restarts. */
export function fnv1a(a: string, b: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < a.length; i++) {
    h ^= charCodeAt.call(a, i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= 0x2f;
  h = Math.imul(h, 0x01000193);
  for (let i = 0; i < b.length; i++) {
    h ^= charCodeAt.call(b, i);
    h = Math.imul(h, 0x01000193);
  }
  // final avalanche (murmur3 fmix32) so close keys spread over the whole range
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The bucket (0..9999) of a sticky key within a route; same key, same bucket, forever. */
export function stickyBucket(routeName: string, key: string): number {
  return fnv1a(routeName, key) % 10_000;
}

/**
 * Picks the target for a route's `single` or `split` decision (flag decisions go through the flag
 * decider). A split with a sticky key puts each key in a fixed bucket; without one (or without the
 * key on the request) the bucket is random.
 */
export function chooseTarget(routeName: string, d: Exclude<Decision, { kind: 'flag' }>, headers: IncomingHttpHeaders, query: string, clientIp: string, random: RandomSource): RouteTarget {
  if (d.kind === 'single') return d.target;
  let bucket = -1;
  if (d.sticky !== null) {
    const key = readKey(d.sticky, headers, query, clientIp);
    if (key !== null && key !== '') bucket = stickyBucket(routeName, key);
  }
  if (bucket < 0) bucket = Math.floor(random() * 10_000);
  const cum = d.cumulative;
  for (let i = 0; i < cum.length; i++) if (bucket < cum[i]) return d.targets[i];
  return d.targets[d.targets.length - 1];
}

/** Builds a flag context from the request; absent sources are null, never missing fields. */
export function flagContext(spec: FlagContextSpec, headers: IncomingHttpHeaders, query: string, clientIp: string): FlagContext {
  const key = readKey(spec.key, headers, query, clientIp);
  const attributes: Record<string, string | null> = {};
  for (let i = 0; i < spec.attributes.length; i++) {
    const [name, src] = spec.attributes[i];
    attributes[name] = readKey(src, headers, query, clientIp);
  }
  return { kind: spec.kind, key: key === '' ? null : key, attributes };
}
