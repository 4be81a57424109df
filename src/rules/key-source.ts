/**
 * Where a per-request key comes from (sticky cohorts, flag contexts): `header:NAME`, `cookie:NAME`,
 * `query:NAME` or `ip`. Parsed once at compile time.
 */
export type KeySource =
  | { readonly kind: 'header'; readonly name: string }
  | { readonly kind: 'cookie'; readonly name: string }
  | { readonly kind: 'query'; readonly name: string }
  | { readonly kind: 'ip'; readonly name: '' };

export function parseKeySource(spec: string): KeySource | null {
  if (spec === 'ip') return { kind: 'ip', name: '' };
  const colon = spec.indexOf(':');
  if (colon <= 0 || colon === spec.length - 1) return null;
  const kind = spec.slice(0, colon);
  const name = spec.slice(colon + 1);
  if (kind === 'header') return { kind, name: name.toLowerCase() };
  if (kind === 'cookie' || kind === 'query') return { kind, name };
  return null;
}
