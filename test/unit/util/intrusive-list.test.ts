import { describe, expect, it } from 'vitest';
import type { ListLinks } from '../../../src/util/intrusive-list.js';
import { IntrusiveList } from '../../../src/util/intrusive-list.js';

interface Item extends ListLinks<Item> {
  readonly name: string;
}
const item = (name: string): Item => ({ name, listPrev: null, listNext: null });

/** The items newest first, walking the links. */
function names(list: IntrusiveList<Item>): string[] {
  const out: string[] = [];
  for (let i = list.first; i !== null; i = i.listNext) out.push(i.name);
  return out;
}

describe('IntrusiveList', () => {
  it('keeps items newest first, adds an item once, and knows which it holds', () => {
    const list = new IntrusiveList<Item>();
    const [a, b, c, stranger] = ['a', 'b', 'c', 'x'].map(item);
    for (const i of [a, b, c, b]) list.add(i);
    expect(names(list)).toEqual(['c', 'b', 'a']);
    expect(list.size).toBe(3);
    expect([a, b, c, stranger].map((i) => list.has(i))).toEqual([true, true, true, false]);
  });

  it('removes from anywhere, clears the removed links, and ignores what it does not hold', () => {
    const list = new IntrusiveList<Item>();
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(item);
    for (const i of [a, b, c, d]) list.add(i);
    list.remove(b);
    list.remove(d);
    list.remove(d);
    expect(names(list)).toEqual(['c', 'a']);
    expect([b.listPrev, b.listNext, d.listPrev, d.listNext]).toEqual([null, null, null, null]);
    list.remove(a);
    list.remove(c);
    expect(list.size).toBe(0);
    expect(list.first).toBeNull();
    list.add(b);
    expect(names(list)).toEqual(['b']);
  });
});
