import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { RouteTarget } from '../rules/route-model.js';
import { BoundedCopy } from '../shadow/bounded-copy.js';
import type { ShadowPolicy } from '../shadow/shadow-policy.js';

/**
 * Bounded copies of one shadowed exchange, kept while the primary streams to the client: the
 * request headers and body as sent to the primary, and the primary's status, headers and body.
 * Allocated only for requests that are copied.
 */
export class ShadowCapture {
  private readonly request: BoundedCopy | null = null;
  private readonly response: BoundedCopy;
  responseHeaders: IncomingHttpHeaders = {};
  private hasRequestBody = false;

  constructor(
    readonly target: RouteTarget,
    readonly policy: ShadowPolicy,
    readonly requestHeaders: IncomingHttpHeaders,
    readonly startedAt: number,
  ) {
    this.response = new BoundedCopy(policy.maxBodyBytes);
    this.request = new BoundedCopy(policy.maxBodyBytes);
  }

  captureRequestBody(req: IncomingMessage): void {
    this.hasRequestBody = true;
    const copy = this.request!;
    req.on('data', (chunk: Buffer) => copy.push(chunk));
  }

  captureResponseHead(flat: readonly string[]): void {
    const h: Record<string, string | string[]> = {};
    for (let i = 0; i < flat.length; i += 2) {
      const name = flat[i].toLowerCase();
      const prev = h[name];
      h[name] = prev === undefined ? flat[i + 1] : Array.isArray(prev) ? [...prev, flat[i + 1]] : [prev, flat[i + 1]];
    }
    this.responseHeaders = h;
  }

  captureResponseChunk(chunk: Buffer): void {
    this.response.push(chunk);
  }

  requestBody(): Buffer | null | 'too-large' {
    return this.hasRequestBody ? this.request!.result() : null;
  }

  responseBody(): Buffer | 'too-large' {
    return this.response.result();
  }
}
