import { connect as connectTcp } from 'node:net';
import { connect as connectTls } from 'node:tls';
import type { Clock } from '../../util/clock.js';
import type { ConnectionOwner, CopyExchange, CopyWire } from './copy-connection.js';
import { CopyConnection } from './copy-connection.js';

/** Where an origin's connections go, parsed once per origin. */
export interface OriginTarget {
  readonly tls: boolean;
  /** Host name or IP for connect (IPv6 without brackets). */
  readonly hostname: string;
  readonly port: number;
  /** The Host field: host and, when not the scheme's default, port. */
  readonly hostHeader: string;
}

export function originTarget(origin: string): OriginTarget {
  const url = new URL(origin);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`shadow copies go over http or https, not ${url.protocol} (${origin})`);
  const tls = url.protocol === 'https:';
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return { tls, hostname, port: Number(url.port || (tls ? 443 : 80)), hostHeader: url.host };
}

/**
 * Every plain-TCP copy connection reads into this one buffer (net's `onread`): reads are handled
 * one at a time on the event loop, and nothing keeps a view of it past the read (see ResponseSink).
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/** How often idle connections past their keep-alive limit are closed. */
const SWEEP_MS = 1_000;
/** Seconds taken off a server's `Keep-Alive: timeout=N`, so the client closes first (as undici does). */
const KEEP_ALIVE_MARGIN_SEC = 1;

/**
 * The keep-alive connections to one candidate origin. A copy takes the most recently used idle
 * connection (the warmest, and the least likely to have been timed out by the server) or opens a
 * new one; their number is bounded by the routes' shadow `concurrency`, which bounds copies in
 * flight. An idle connection lives `idleTimeoutMs`, or less when the server announced a shorter
 * keep-alive timeout.
 */
export class OriginPool implements ConnectionOwner {
  private readonly idle: CopyConnection[] = [];
  private readonly open = new Set<CopyConnection>();
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    private readonly target: OriginTarget,
    private readonly clock: Clock,
    private readonly idleTimeoutMs: number,
  ) {}

  get hostHeader(): string {
    return this.target.hostHeader;
  }

  /** Connections open now (idle and busy). */
  get size(): number {
    return this.open.size;
  }

  dispatch(ex: CopyExchange, wire: CopyWire): void {
    (this.takeIdle() ?? this.connect()).send(ex, wire);
  }

  resend(ex: CopyExchange, wire: CopyWire): void {
    this.connect().send(ex, wire);
  }

  release(conn: CopyConnection, keepAliveTimeoutSec: number): void {
    const limit = keepAliveTimeoutSec < 0 ? this.idleTimeoutMs : Math.min(this.idleTimeoutMs, (keepAliveTimeoutSec - KEEP_ALIVE_MARGIN_SEC) * 1000);
    if (limit <= 0) {
      conn.destroy();
      return;
    }
    conn.idleSince = this.clock.monotonic();
    conn.idleLimitMs = limit;
    this.idle.push(conn);
    if (this.sweeper === null) {
      this.sweeper = setInterval(sweep, SWEEP_MS, this);
      this.sweeper.unref();
    }
  }

  forget(conn: CopyConnection): void {
    this.open.delete(conn);
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
  }

  /** Closes the idle connections past their limit; stops sweeping once none is idle. */
  sweep(): void {
    const now = this.clock.monotonic();
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const conn = this.idle[i];
      if (now - conn.idleSince < conn.idleLimitMs) continue;
      this.idle.splice(i, 1);
      conn.destroy();
    }
    if (this.idle.length === 0 && this.sweeper !== null) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }

  close(): void {
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.sweeper = null;
    this.idle.length = 0;
    for (const conn of this.open) conn.destroy();
  }

  private takeIdle(): CopyConnection | null {
    const now = this.clock.monotonic();
    for (;;) {
      const conn = this.idle.pop();
      if (conn === undefined) return null;
      if (!conn.isClosed && now - conn.idleSince < conn.idleLimitMs) return conn;
      conn.destroy();
    }
  }

  private connect(): CopyConnection {
    const t = this.target;
    const conn = new CopyConnection(this, (onRead) =>
      t.tls
        ? { socket: connectTls({ host: t.hostname, port: t.port, servername: isIpLiteral(t.hostname) ? undefined : t.hostname, ALPNProtocols: ['http/1.1'] }), usesOnRead: false }
        : { socket: connectTcp({ host: t.hostname, port: t.port, onread: { buffer: READ_BUFFER, callback: onRead } }), usesOnRead: true },
    );
    this.open.add(conn);
    return conn;
  }
}

function sweep(pool: OriginPool): void {
  pool.sweep();
}

const isIpLiteral = (host: string) => /^[\d.]+$/.test(host) || host.includes(':');
