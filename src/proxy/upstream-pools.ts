import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import type { PoolOptions, PoolProvider, RouteTable } from '../rules/route-table.js';

/**
 * One keep-alive undici Pool per upstream. Pools outlive reloads when the upstream's settings are
 * unchanged; a pool no table uses any more is closed after a grace period, so requests that picked
 * it up from the previous table still dispatch (Pool.close() then waits for them to finish).
 */
export class UpstreamPools {
  private readonly pools = new Map<string, Pool>();
  private readonly retiring = new Map<ReturnType<typeof setTimeout>, Pool>();

  constructor(private readonly graceMs = 30_000) {}

  readonly provider: PoolProvider = (key: string, origin: string, o: PoolOptions): Dispatcher => {
    let pool = this.pools.get(key);
    if (pool === undefined) {
      pool = new Pool(origin, {
        connections: o.connections,
        connect: { timeout: o.connectTimeoutMs },
        headersTimeout: o.headersTimeoutMs,
        bodyTimeout: o.bodyTimeoutMs,
        keepAliveTimeout: 4_000,
        keepAliveMaxTimeout: 60_000,
      });
      this.pools.set(key, pool);
    }
    return pool;
  };

  /** Schedules closing of the pools the given (new) table no longer uses. */
  retainOnly(table: RouteTable): void {
    const used = new Set<string>();
    for (const u of table.upstreams.values()) used.add(u.poolKey);
    for (const [key, pool] of this.pools) {
      if (used.has(key)) continue;
      this.pools.delete(key);
      const timer = setTimeout(() => {
        this.retiring.delete(timer);
        void pool.close().catch(() => pool.destroy());
      }, this.graceMs);
      timer.unref();
      this.retiring.set(timer, pool);
    }
  }

  get size(): number {
    return this.pools.size;
  }

  async closeAll(): Promise<void> {
    const all = [...this.pools.values(), ...this.retiring.values()];
    for (const t of this.retiring.keys()) clearTimeout(t);
    this.retiring.clear();
    this.pools.clear();
    await Promise.all(all.map((p) => p.close().catch(() => p.destroy())));
  }
}
