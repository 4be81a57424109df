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
  /** Allocated only when the request has a body (a GET has none). */
  private request: BoundedCopy | null = null;
  private readonly response: BoundedCopy;
  /** The response's header pairs as written to the client (see ShadowExchange.primary.rawHeaders). */
  responseHeaders: readonly string[] = [];

  constructor(
    readonly target: RouteTarget,
    readonly policy: ShadowPolicy,
    readonly requestHeaders: IncomingHttpHeaders,
    readonly startedAt: number,
  ) {
    this.response = new BoundedCopy(policy.maxBodyBytes);
  }

  captureRequestBody(req: IncomingMessage): void {
    const copy = new BoundedCopy(this.policy.maxBodyBytes);
    this.request = copy;
    req.on('data', (chunk: Buffer) => copy.push(chunk));
  }

  captureResponseHead(flat: readonly string[]): void {
    this.responseHeaders = flat;
  }

  captureResponseChunk(chunk: Buffer): void {
    this.response.push(chunk);
  }

  requestBody(): Buffer | null | 'too-large' {
    return this.request === null ? null : this.request.result();
  }

  responseBody(): Buffer | 'too-large' {
    return this.response.result();
  }
}
