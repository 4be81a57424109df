import type { ListLinks } from '../util/intrusive-list.js';
import { IntrusiveList } from '../util/intrusive-list.js';

/** A copy in flight that shutdown can stop; it then resolves as a `timeout` failure. */
export interface InflightCopy extends ListLinks<InflightCopy> {
  abort(): void;
}

/**
 * The candidate calls in flight, so that shutdown can abort them. An intrusive list, not a Set: a
 * copy is added and removed about every 100 µs, and with a Set the shadow worker promoted ~1.5 MB
 * of otherwise dead copies per scavenge (3 ms scavenges and a mark-compact every ~0.6 s, against
 * 0.3 ms and none with this list; README "Performance", sixth session; see IntrusiveList).
 */
export class InflightCopies {
  private readonly list = new IntrusiveList<InflightCopy>();

  get size(): number {
    return this.list.size;
  }

  add(call: InflightCopy): void {
    this.list.add(call);
  }

  /** Removes a call added before; a call not in the list is left alone. */
  remove(call: InflightCopy): void {
    this.list.remove(call);
  }

  /** Aborts every call in the list; an abort may remove its own call (and only that one) meanwhile. */
  abortAll(): void {
    let call = this.list.first;
    while (call !== null) {
      const next = call.listNext;
      call.abort();
      call = next;
    }
  }
}
