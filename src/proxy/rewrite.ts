import type { RouteModel } from '../rules/route-model.js';

/** Applies a route's stripPrefix / addPrefix to a normalized path (segment boundaries only). */
export function rewritePath(route: RouteModel, path: string): string {
  let p = path;
  const strip = route.stripPrefix;
  if (strip !== null && strip !== '/') {
    if (p === strip) p = '/';
    else if (p.startsWith(strip) && p.charCodeAt(strip.length) === 0x2f) p = p.slice(strip.length);
  }
  const add = route.addPrefix;
  if (add !== null) p = p === '/' ? add : add + p;
  return p;
}
