import { PerformanceObserver, constants } from 'node:perf_hooks';
import type { GcKind } from '../shadow-metrics.js';

/** Node's `gc` entry kind (a NODE_PERFORMANCE_GC_* flag) → the metric's label; null for one it does not name. */
export function gcKindOf(flag: number): GcKind | null {
  switch (flag) {
    case constants.NODE_PERFORMANCE_GC_MINOR:
      return 'minor';
    case constants.NODE_PERFORMANCE_GC_MAJOR:
      return 'major';
    case constants.NODE_PERFORMANCE_GC_INCREMENTAL:
      return 'incremental';
    case constants.NODE_PERFORMANCE_GC_WEAKCB:
      return 'weakcb';
    default:
      return null;
  }
}

/**
 * Reports every garbage collection of the calling thread's heap (`gc` performance entries, which
 * Node delivers shortly after each pause); returns a function that stops it.
 */
export function observeGc(onGc: (kind: GcKind, seconds: number) => void): () => void {
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const detail = (entry as { readonly detail?: { readonly kind?: number } | null }).detail;
      const kind = gcKindOf(detail?.kind ?? -1);
      if (kind !== null) onGc(kind, entry.duration / 1000);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return () => observer.disconnect();
}
