import type { IncomingHttpHeaders } from 'node:http';
import type { ProxySettings } from '../rules/route-table.js';
import type { HeaderTransform, UpstreamModel } from '../rules/route-model.js';
import { HOP_BY_HOP, connectionTokens } from './hop-by-hop.js';

const FORWARDED_FAMILY: ReadonlySet<string> = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded']);

export interface ForwardFacts {
  readonly clientIp: string;
  readonly proto: 'http' | 'https';
  readonly requestId: string;
  readonly traceparent: string;
}

function quoteForwarded(ip: string): string {
  return ip.includes(':') ? `"[${ip}]"` : ip;
}

/**
 * Builds the headers sent upstream: hop-by-hop headers (and those named in Connection) and
 * `expect` are dropped; Host is the upstream's or the client's; X-Forwarded-* / Forwarded are
 * replaced, or appended to when the client is trusted; request id and traceparent are set; the
 * route's request header transform runs last.
 */
export function upstreamRequestHeaders(
  headers: IncomingHttpHeaders,
  facts: ForwardFacts,
  upstream: UpstreamModel,
  settings: ProxySettings,
  transform: HeaderTransform | null,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const extraHop = connectionTokens(headers.connection);
  const trust = settings.trustForwarded;
  for (const name in headers) {
    const v = headers[name];
    if (v === undefined || HOP_BY_HOP.has(name) || name === 'host' || name === 'expect') continue;
    if (extraHop !== null && extraHop.includes(name)) continue;
    if (!trust && FORWARDED_FAMILY.has(name)) continue;
    out[name] = v;
  }
  const clientHost = headers.host ?? '';
  out.host = upstream.preserveHost && clientHost ? clientHost : upstream.authority;

  const mode = settings.forwardedHeaders;
  if (mode === 'x-forwarded' || mode === 'both') {
    const prior = trust ? headers['x-forwarded-for'] : undefined;
    out['x-forwarded-for'] = prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${facts.clientIp}` : facts.clientIp;
    if (!(trust && headers['x-forwarded-proto'])) out['x-forwarded-proto'] = facts.proto;
    if (!(trust && headers['x-forwarded-host']) && clientHost) out['x-forwarded-host'] = clientHost;
  }
  if (mode === 'forwarded' || mode === 'both') {
    const element = `for=${quoteForwarded(facts.clientIp)};proto=${facts.proto}${clientHost ? `;host="${clientHost}"` : ''}`;
    const prior = trust ? headers.forwarded : undefined;
    out.forwarded = prior ? `${prior}, ${element}` : element;
  }
  out[settings.requestIdHeader] = facts.requestId;
  out.traceparent = facts.traceparent;

  if (transform !== null) applyTransform(out, transform);
  return out;
}

export function applyTransform(headers: Record<string, string | string[] | number | undefined>, t: HeaderTransform): void {
  for (let i = 0; i < t.remove.length; i++) delete headers[t.remove[i]];
  for (let i = 0; i < t.set.length; i++) headers[t.set[i][0]] = t.set[i][1];
}

/** Strips hop-by-hop headers from an upstream response, in place. */
export function cleanResponseHeaders(headers: Record<string, string | string[] | undefined>): void {
  const extra = connectionTokens(headers.connection);
  for (const name of HOP_BY_HOP) if (headers[name] !== undefined) delete headers[name];
  if (extra !== null) for (const name of extra) delete headers[name];
}
