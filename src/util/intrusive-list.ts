/** The links an object carries to sit in one IntrusiveList at a time; null while in none. */
export interface ListLinks<T> {
  listPrev: T | null;
  listNext: T | null;
}

/**
 * A doubly linked list whose items carry their own links, for sets that gain and lose an item per
 * request: adding and removing allocate nothing, and a removed item's links are cleared, so an
 * item that died in the old generation holds no newer one. A `Set` with that churn is rehashed
 * again and again, and V8 keeps each replaced table pointing at its successor; once one of them
 * is promoted, the chain keeps every later table and its items alive through each scavenge until
 * the next full GC (README "Design notes").
 */
export class IntrusiveList<T extends ListLinks<T>> {
  private head: T | null = null;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The newest item; walk on with `listNext`, saving it before an item may leave the list. */
  get first(): T | null {
    return this.head;
  }

  has(item: T): boolean {
    return item.listPrev !== null || this.head === item;
  }

  /** Adds `item` as the newest; an item already in the list stays where it is. */
  add(item: T): void {
    if (this.has(item)) return;
    item.listNext = this.head;
    if (this.head !== null) this.head.listPrev = item;
    this.head = item;
    this.count++;
  }

  /** Removes `item`; one not in the list is left alone. */
  remove(item: T): void {
    if (!this.has(item)) return;
    const prev = item.listPrev;
    const next = item.listNext;
    if (prev !== null) prev.listNext = next;
    else this.head = next;
    if (next !== null) next.listPrev = prev;
    item.listPrev = null;
    item.listNext = null;
    this.count--;
  }
}
