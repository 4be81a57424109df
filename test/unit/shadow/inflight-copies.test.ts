import { describe, expect, it } from 'vitest';
import type { InflightCopy } from '../../../src/shadow/inflight-copies.js';
import { InflightCopies } from '../../../src/shadow/inflight-copies.js';

type Named = InflightCopy & { readonly name: string };

/** A call that records its aborts and, like CopyCall, leaves the list when aborted. */
function call(list: InflightCopies, name: string, aborted: string[]): Named {
  const c: Named = {
    name,
    listPrev: null,
    listNext: null,
    abort: () => {
      aborted.push(name);
      list.remove(c);
    },
  };
  return c;
}

/** The list's order, newest first, read by aborting everything (which empties it). */
function drain(list: InflightCopies, aborted: string[]): string[] {
  aborted.length = 0;
  list.abortAll();
  return [...aborted];
}

describe('InflightCopies', () => {
  it('removes from the head, the middle and the tail, and counts', () => {
    const list = new InflightCopies();
    const aborted: string[] = [];
    const [a, b, c, d, e] = ['a', 'b', 'c', 'd', 'e'].map((n) => call(list, n, aborted));
    for (const x of [a, b, c, d, e]) list.add(x);
    expect(list.size).toBe(5);
    list.remove(c); // middle
    list.remove(e); // head
    list.remove(a); // tail
    expect(list.size).toBe(2);
    expect(drain(list, aborted)).toEqual(['d', 'b']);
    expect(list.size).toBe(0);
  });

  it("clears a removed call's links, so a dead call holds no other", () => {
    const list = new InflightCopies();
    const [a, b, c] = ['a', 'b', 'c'].map((n) => call(list, n, []));
    for (const x of [a, b, c]) list.add(x);
    list.remove(b);
    expect(b.listPrev).toBeNull();
    expect(b.listNext).toBeNull();
    expect(c.listNext).toBe(a);
    expect(a.listPrev).toBe(c);
  });

  it('ignores removing a call twice or one never added', () => {
    const list = new InflightCopies();
    const aborted: string[] = [];
    const [a, b, stranger] = ['a', 'b', 'x'].map((n) => call(list, n, aborted));
    list.add(a);
    list.add(b);
    list.remove(a);
    list.remove(a);
    list.remove(stranger);
    expect(list.size).toBe(1);
    expect(drain(list, aborted)).toEqual(['b']);
  });

  it('aborts every call once, each leaving the list as it is aborted', () => {
    const list = new InflightCopies();
    const aborted: string[] = [];
    for (const n of ['a', 'b', 'c']) list.add(call(list, n, aborted));
    list.abortAll();
    expect(aborted).toEqual(['c', 'b', 'a']);
    expect(list.size).toBe(0);
    list.abortAll();
    expect(aborted).toHaveLength(3);
  });
});
