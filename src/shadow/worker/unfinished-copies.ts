import type { ComparisonRecord } from '../record/shadow-record.js';

type Roles = ComparisonRecord['roles'];

interface Entry {
  n: number;
  readonly roles: Roles;
}

export interface UnfinishedGroup {
  readonly route: string;
  readonly endpoint: string;
  readonly roles: Roles;
  readonly n: number;
}

/**
 * How many copies handed to the shadow worker have no result back yet, by route and endpoint, so
 * that those a dying worker takes with it are counted, not lost silently. Updated for every copy on
 * the main thread: two map lookups and an increment, no allocation once an endpoint has been seen.
 */
export class UnfinishedCopies {
  private readonly byRoute = new Map<string, Map<string, Entry>>();

  /** Adds `n` (negative for results) for one route and endpoint; a count never goes below 0. */
  add(route: string, endpoint: string, roles: Roles, n: number): void {
    let endpoints = this.byRoute.get(route);
    if (endpoints === undefined) {
      if (n <= 0) return;
      endpoints = new Map();
      this.byRoute.set(route, endpoints);
    }
    const e = endpoints.get(endpoint);
    if (e === undefined) {
      if (n > 0) endpoints.set(endpoint, { n, roles });
      return;
    }
    // Results of copies already given up on (a late batch from a dead worker) do not go negative.
    e.n = Math.max(0, e.n + n);
  }

  /** Every group with copies outstanding; the counts restart from 0. */
  takeAll(): UnfinishedGroup[] {
    const out: UnfinishedGroup[] = [];
    for (const [route, endpoints] of this.byRoute) {
      for (const [endpoint, e] of endpoints) if (e.n > 0) out.push({ route, endpoint, roles: e.roles, n: e.n });
    }
    this.byRoute.clear();
    return out;
  }
}
