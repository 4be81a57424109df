import { compareSpecificity, matchPattern, SegmentKind } from './path-pattern.js';
import type { RouteModel } from './route-model.js';

/** A node of the literal-prefix trie: routes whose literal path prefix ends here, in winning order. */
interface TrieNode {
  readonly children: Map<string, TrieNode>;
  readonly routes: RouteModel[];
  readonly ranks: number[];
}

const newNode = (): TrieNode => ({ children: new Map(), routes: [], ranks: [] });

/**
 * Finds the winning route for a request. Routes get a global rank once (priority, then path
 * specificity, then file order) and are stored in a trie under their literal path prefix
 * (`/api/users/:id` lives at api → users). A lookup walks the request's segments down the trie and,
 * at each node on the way, takes the first route whose conditions hold; the best rank among those
 * wins. Only routes that share the request's literal prefix are ever tested, and nothing is
 * allocated per lookup.
 */
export class RouteMatcher {
  private readonly root: TrieNode = newNode();

  constructor(routes: readonly RouteModel[]) {
    const ordered = [...routes].sort(compareRoutes);
    ordered.forEach((r, rank) => {
      let node = this.root;
      for (const seg of r.pattern?.segments ?? []) {
        if (seg.kind !== SegmentKind.Literal) break;
        let next = node.children.get(seg.value);
        if (next === undefined) node.children.set(seg.value, (next = newNode()));
        node = next;
      }
      node.routes.push(r);
      node.ranks.push(rank);
    });
  }

  match(method: string, host: string, headers: Readonly<Record<string, string | string[] | undefined>>, segs: readonly string[], segCount: number): RouteModel | null {
    let best: RouteModel | null = null;
    let bestRank = Infinity;
    let node: TrieNode | undefined = this.root;
    for (let depth = 0; node !== undefined; depth++) {
      const routes = node.routes;
      for (let i = 0; i < routes.length; i++) {
        if (node.ranks[i] >= bestRank) break; // lists are in rank order: nothing better here
        const r = routes[i];
        if (r.pattern !== null && !matchPattern(r.pattern, segs, segCount)) continue;
        if (r.methods !== null && !r.methods.includes(method)) continue;
        if (r.host !== null && !matchHost(r.host.exact, r.host.suffix, host)) continue;
        if (r.headers !== null && !matchHeaders(r.headers, headers)) continue;
        best = r;
        bestRank = node.ranks[i];
        break;
      }
      node = depth < segCount ? node.children.get(segs[depth]) : undefined;
    }
    return best;
  }
}

/** Winning order: higher priority, then more specific path, then earlier in the file. */
export function compareRoutes(a: RouteModel, b: RouteModel): number {
  return b.priority - a.priority || compareSpecificity(a.pattern, b.pattern) || a.index - b.index;
}

function matchHost(exact: string | null, suffix: string | null, host: string): boolean {
  if (exact !== null) return host === exact;
  // "*.example.com" matches a.example.com and a.b.example.com, not example.com itself
  return suffix !== null && host.length > suffix.length && host.endsWith(suffix);
}

function matchHeaders(conds: readonly (readonly [string, string])[], headers: Readonly<Record<string, string | string[] | undefined>>): boolean {
  for (let i = 0; i < conds.length; i++) {
    const [name, want] = conds[i];
    const got = headers[name];
    if (got === undefined) return false;
    if (want === '*') continue;
    if (typeof got === 'string' ? got !== want : !got.includes(want)) return false;
  }
  return true;
}
