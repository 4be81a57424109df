import { didYouMean } from '../config/did-you-mean.js';
import type { SchemaValidator } from '../config/schema.js';
import { checkFlagsSection, checkRouteFlag } from '../flags/flags-config.js';
import { MIGRATION_MODES } from '../flags/flag-provider.js';
import { checkShadowConfig } from '../shadow/shadow-config.js';
import { SegmentKind, parsePathPattern } from './path-pattern.js';

/**
 * Cross-field checks the schema cannot express. They read the raw value defensively (the schema
 * may have found problems elsewhere in the file) so every mistake is reported in one pass.
 */
const HOST = /^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

const MODES: readonly string[] = MIGRATION_MODES;

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
  if (value.flags !== undefined) checkFlagsSection(value.flags, v, ['flags']);

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

    // One way to choose the target: to, split or flag (a flag may name modes, which need `to`).
    if (route.to === undefined && route.split === undefined && route.flag === undefined) v.report(['routes', i], `route "${name}" needs one of to, split, flag`);
    if (route.split !== undefined && route.to !== undefined) v.report(['routes', i, 'split'], `route "${name}" sets both to and split; choose one`);
    if (route.split !== undefined && route.flag !== undefined) v.report(['routes', i, 'flag'], `route "${name}" sets both split and flag; choose one`);
    checkUpstreamRef(route.to, ['routes', i, 'to']);
    checkUpstreamRef(route.legacy, ['routes', i, 'legacy']);
    checkModes(route, i, name, value, upstreams, v);
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

/**
 * Migration modes need both services: the new one (`to`) and the monolith (`legacy`, or the rules'
 * `default`). Checked for a static `mode` and for flag variations that name modes.
 */
function checkModes(route: Record<string, unknown>, i: number, name: string, value: Record<string, unknown>, upstreams: readonly string[], v: SchemaValidator): void {
  const flag = isObject(route.flag) ? route.flag : null;
  if (route.flag !== undefined && value.flags === undefined) {
    v.report(['routes', i, 'flag'], `route "${name}" uses a flag but the rules have no "flags:" section`);
  }
  if (flag !== null) checkRouteFlag(flag, v, ['routes', i, 'flag'], [...upstreams, ...MODES]);
  const flagChoices = flag !== null ? [...Object.values(isObject(flag.variations) ? flag.variations : {}), flag.default] : [];
  // A choice that names an upstream is that upstream (an upstream may well be called "legacy").
  const usesModes = typeof route.mode === 'string' || flagChoices.some((c) => typeof c === 'string' && MODES.includes(c) && !upstreams.includes(c));
  if (route.mode !== undefined && route.to === undefined) v.report(['routes', i, 'mode'], `route "${name}" sets mode without "to" (the new service)`);
  if (route.mode !== undefined && route.flag !== undefined) v.report(['routes', i, 'mode'], `route "${name}" sets both mode and flag; let the flag's variations name the modes`);
  if (usesModes) {
    if (route.to === undefined && route.flag !== undefined) v.report(['routes', i, 'flag'], `route "${name}" maps flag variations to modes but has no "to" (the new service)`);
    const legacy = route.legacy ?? value.default;
    if (legacy === undefined) v.report(['routes', i], `route "${name}" uses migration modes but names no legacy upstream (set "legacy" on the route or a rules "default")`);
    else if (legacy === route.to) v.report(['routes', i, route.legacy !== undefined ? 'legacy' : 'to'], `route "${name}": the legacy upstream and the new service "to" are the same upstream "${String(legacy)}"`);
  }
  if (route.shadow !== undefined) {
    checkShadowConfig(route.shadow, v, ['routes', i, 'shadow']);
    const canShadow = route.mode === 'shadow' || route.mode === 'live' || flagChoices.includes('shadow') || flagChoices.includes('live');
    if (!canShadow) v.report(['routes', i, 'shadow'], `route "${name}" has shadow settings but never shadows: set mode shadow or live, or map a flag variation to one`, true);
  }
}

function isSegmentPrefix(prefix: string, path: string): boolean {
  if (prefix === '/') return true;
  return path === prefix || path.startsWith(prefix + '/');
}
