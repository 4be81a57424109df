import type { Clock } from '../../util/clock.js';
import { systemClock } from '../../util/clock.js';
import type { CopyExchange } from './copy-connection.js';
import { OriginPool, originTarget } from './origin-pool.js';
import { requestHead } from './request-head.js';

/** Safe methods (RFC 9110 §9.2.1): a copy of one may be sent again after a stale-connection failure. */
const RETRIABLE = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface CopyClientOptions {
  readonly clock?: Clock;
  /** How long an idle keep-alive connection is kept (default 4 s, under Node's 5 s server default). */
  readonly idleTimeoutMs?: number;
}

/**
 * The HTTP/1.1 client that carries shadow copies to candidates. It is small on purpose: a copy is
 * a request ficus builds itself from a request Node already parsed, sent on a keep-alive
 * connection, answered by a service the team runs. Per copy it builds one head string and reads
 * the answer into one reused buffer (net's `onread`) with a parser that slices it. Alone, an undici
 * dispatch cost about twice the CPU of a raw keep-alive socket per call (~62 vs ~29 µs), and every
 * microsecond of it is taken from the client traffic on the same event loop (README "Performance").
 */
export class CopyClient {
  private readonly pools = new Map<string, OriginPool>();
  private readonly clock: Clock;
  private readonly idleTimeoutMs: number;

  constructor(options: CopyClientOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 4_000;
  }

  /**
   * Sends one copy; its answer or failure reaches `ex`. Returns false, sending nothing, when the
   * target or a header value holds a character that would break the framing.
   */
  send(ex: CopyExchange, origin: string, method: string, path: string, headers: Readonly<Record<string, string | readonly string[]>>, body: Buffer | null): boolean {
    const pool = this.poolFor(origin);
    const head = requestHead(method, path, pool.hostHeader, headers, body);
    if (head === null) return false;
    pool.dispatch(ex, { method, head, body, retriable: RETRIABLE.has(method) });
    return true;
  }

  /** Open connections to `origin` (idle and busy). */
  connections(origin: string): number {
    return this.pools.get(origin)?.size ?? 0;
  }

  /** Closes every connection; copies still in flight fail (the dispatcher aborts them first). */
  close(): void {
    for (const pool of this.pools.values()) pool.close();
    this.pools.clear();
  }

  private poolFor(origin: string): OriginPool {
    let pool = this.pools.get(origin);
    if (pool === undefined) {
      pool = new OriginPool(originTarget(origin), this.clock, this.idleTimeoutMs);
      this.pools.set(origin, pool);
    }
    return pool;
  }
}
