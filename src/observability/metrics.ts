import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export { Registry, Counter, Gauge, Histogram };

/** A registry per process component (not prom-client's global one), so tests stay isolated. */
export function createRegistry(options: { defaultMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'ficus_' });
  return registry;
}
