import { didYouMean } from '../config/did-you-mean.js';
import type { SchemaValidator } from '../config/schema.js';
import { SegmentKind, parsePathPattern } from './path-pattern.js';

/**
 * Cross-field checks the schema cannot express. They read the raw value defensively (the schema
 * may have found problems elsewhere in the file) so every mistake is reported in one pass.
 */
const HOST = /^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

const TARGET_KEYS = ['to', 'split'] as const;

export function checkRules(value: Record<string, unknown>, v: SchemaValidator): void {
  const upstreams = isObject(value.upstreams) ? Object.keys(value.upstreams) : [];
  const checkUpstreamRef = (name: unknown, path: (string | number)[]) => {
    if (typeof name === 'string' && !upstreams.includes(name)) {
      v.report(path, `unknown upstream "${name}"${didYouMean(name, upstreams)}`);
    }
  };

  if (isObject(value.upstreams)) {
    for (const [name, up] of Object.entries(value.upstreams)) {
      if (isObject(up) && typeof up.url === 'string') {
        try {
          const u = new URL(up.url);
          if (u.pathname !== '/' || u.search) v.report(['upstreams', name, 'url'], `upstream "${name}" url must be an origin without a path; use a route's rewrite.addPrefix instead`);
        } catch {
          v.report(['upstreams', name, 'url'], `upstream "${name}" url "${up.url}" is not a valid URL`);
        }
      }
      if (isObject(up) && up.timeout !== undefined && up.headersTimeout !== undefined) {
        v.report(['upstreams', name, 'timeout'], `upstream "${name}" sets both timeout and headersTimeout; timeout is an alias, keep one`);
      }
    }
  }
  checkUpstreamRef(value.default, ['default']);

  if (!Array.isArray(value.routes)) return;
  const seen = new Map<string, number>();
  value.routes.forEach((route, i) => {
    if (!isObject(route)) return;
    const name = typeof route.name === 'string' ? route.name : `#${i + 1}`;
    if (typeof route.name === 'string') {
      const first = seen.get(route.name);
      if (first !== undefined) v.report(['routes', i, 'name'], `duplicate route name "${route.name}" (first used by route #${first + 1})`);
      else seen.set(route.name, i);
    }

    // Exactly one way to choose the target.
    const targets = TARGET_KEYS.filter((k) => route[k] !== undefined);
    if (targets.length === 0) v.report(['routes', i], `route "${name}" needs one of ${TARGET_KEYS.join(', ')}`);
    else if (targets.length > 1) v.report(['routes', i, targets[1]], `route "${name}" sets both ${targets[0]} and ${targets[1]}; choose one`);
    checkUpstreamRef(route.to, ['routes', i, 'to']);
    checkUpstreamRef(route.fallback, ['routes', i, 'fallback']);
    if (typeof route.fallback === 'string' && route.fallback === route.to) {
      v.report(['routes', i, 'fallback'], `route "${name}" falls back to its own upstream "${route.fallback}"; name a different one`);
    }

    if (Array.isArray(route.split)) {
      let sum = 0;
      const used = new Set<string>();
      route.split.forEach((part, j) => {
        if (!isObject(part)) return;
        checkUpstreamRef(part.to, ['routes', i, 'split', j, 'to']);
        if (typeof part.to === 'string') {
          if (used.has(part.to)) v.report(['routes', i, 'split', j, 'to'], `route "${name}" lists upstream "${part.to}" twice in split`);
          used.add(part.to);
        }
        if (typeof part.weight === 'number') sum += part.weight;
      });
      if (Math.abs(sum - 100) > 1e-9) v.report(['routes', i, 'split'], `split weights of route "${name}" sum to ${sum}, they must sum to 100`);
    }
    if (route.sticky !== undefined && route.split === undefined) {
      v.report(['routes', i, 'sticky'], `route "${name}" sets sticky without split; sticky only applies to split routes`);
    }

    let literalPrefix: string | null = null;
    const match = route.match;
    if (isObject(match)) {
      if (typeof match.path === 'string') {
        const parsed = parsePathPattern(match.path);
        if (!parsed.ok) v.report(['routes', i, 'match', 'path'], parsed.message);
        else {
          const lits: string[] = [];
          for (const seg of parsed.pattern.segments) {
            if (seg.kind !== SegmentKind.Literal) break;
            lits.push(seg.value);
          }
          literalPrefix = '/' + lits.join('/');
        }
      }
      if (typeof match.host === 'string' && !HOST.test(match.host.replace(/:\d+$/, ''))) {
        v.report(['routes', i, 'match', 'host'], `route "${name}" host "${match.host}" must be a host name or *.domain`);
      }
      if (isObject(match.headers)) {
        for (const h of Object.keys(match.headers)) {
          if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(h)) v.report(['routes', i, 'match', 'headers', h], `route "${name}" header name "${h}" is not a valid header name`, true);
        }
      }
    }

    const rw = route.rewrite;
    if (isObject(rw)) {
      for (const key of ['stripPrefix', 'addPrefix'] as const) {
        const p = rw[key];
        if (typeof p === 'string' && (!p.startsWith('/') || (p.length > 1 && p.endsWith('/')))) {
          v.report(['routes', i, 'rewrite', key], `route "${name}" rewrite.${key} "${p}" must start with "/" and not end with "/"`);
        }
      }
      const strip = rw.stripPrefix;
      if (typeof strip === 'string' && literalPrefix !== null && strip.startsWith('/') && !isSegmentPrefix(strip, literalPrefix) && !isSegmentPrefix(literalPrefix, strip)) {
        v.report(['routes', i, 'rewrite', 'stripPrefix'], `route "${name}" rewrite.stripPrefix "${strip}" can never apply to paths matching "${String((match as Record<string, unknown>).path)}"`);
      }
    }
  });
}

function isSegmentPrefix(prefix: string, path: string): boolean {
  if (prefix === '/') return true;
  return path === prefix || path.startsWith(prefix + '/');
}
