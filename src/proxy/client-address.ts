import type { IncomingMessage } from 'node:http';

/** The peer's address, with IPv4-mapped IPv6 (::ffff:1.2.3.4) unwrapped. */
export function clientIp(req: IncomingMessage): string {
  const a = req.socket.remoteAddress ?? '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

// Saved reference: stays fast even after a module subclasses String (see request-path.ts).
const charCodeAt = String.prototype.charCodeAt;

/** The Host header's name, lower-cased, without port; "" when absent. */
export function hostName(header: string | undefined): string {
  if (header === undefined) return '';
  if (charCodeAt.call(header, 0) === 0x5b) {
    const end = header.indexOf(']');
    return (end === -1 ? header : header.slice(0, end + 1)).toLowerCase();
  }
  const colon = header.indexOf(':');
  return (colon === -1 ? header : header.slice(0, colon)).toLowerCase();
}

const REQUEST_ID = /^[A-Za-z0-9._:@\-/+=]{1,128}$/;

/** A client-supplied request id is echoed only when it is short and harmless. */
export function acceptableRequestId(v: string | string[] | undefined): string | null {
  return typeof v === 'string' && REQUEST_ID.test(v) ? v : null;
}
