import type { RouteModel } from '../rules/route-model.js';

// Saved reference: stays fast even after a module subclasses String (see request-path.ts).
const charCodeAt = String.prototype.charCodeAt;

/**
 * Applies a route's stripPrefix / addPrefix to a normalized path, on segment boundaries only.
 * A trailing slash survives: /api/users/ → (strip /api/users, add /v1) → /v1/; /api/users → /v1.
 */
export function rewritePath(route: RouteModel, path: string): string {
  let p = path;
  const strip = route.stripPrefix;
  if (strip !== null && strip !== '/') {
    if (p === strip) p = '';
    else if (p.startsWith(strip) && charCodeAt.call(p, strip.length) === 0x2f) p = p.slice(strip.length);
  }
  const add = route.addPrefix;
  if (add !== null) p = add + (p === '/' ? '/' : p);
  return p === '' ? '/' : p;
}
