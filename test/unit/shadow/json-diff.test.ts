import { describe, expect, it } from 'vitest';
import type { JsonDiffRules } from '../../../src/shadow/compare/json-diff.js';
import { diffJson, numbersMatch } from '../../../src/shadow/compare/json-diff.js';
import { formatField, formatPath, globMatches, mustParsePathGlob, parsePathGlob } from '../../../src/shadow/compare/json-path.js';

const rules = (over: Partial<{ ignore: string[]; unordered: (string | { path: string; key: string })[]; tol: number; max: number }> = {}): JsonDiffRules => ({
  ignore: (over.ignore ?? []).map(mustParsePathGlob),
  unordered: (over.unordered ?? []).map((u) => (typeof u === 'string' ? { glob: mustParsePathGlob(u), key: null } : { glob: mustParsePathGlob(u.path), key: u.key })),
  numericTolerance: over.tol ?? 0,
  maxDiffs: over.max ?? 100,
});

describe('JSON paths and globs', () => {
  it('formats concrete paths and generalises indices into fields', () => {
    expect(formatPath(['items', 3, 'price'])).toBe('$.items[3].price');
    expect(formatPath(['a b', 0])).toBe('$["a b"][0]');
    expect(formatField(['items', 3, 'price'])).toBe('$.items[*].price');
  });

  it('matches * as one segment and ** as any number of segments', () => {
    const deep = mustParsePathGlob('$.**.updated_at');
    expect(globMatches(deep, ['updated_at'])).toBe(true);
    expect(globMatches(deep, ['user', 'meta', 'updated_at'])).toBe(true);
    expect(globMatches(deep, ['items', 2, 'updated_at'])).toBe(true);
    expect(globMatches(deep, ['updated_at', 'x'])).toBe(false);
    const one = mustParsePathGlob('$.items[*].id');
    expect(globMatches(one, ['items', 7, 'id'])).toBe(true);
    expect(globMatches(one, ['items', 7, 'x', 'id'])).toBe(false);
    expect(globMatches(mustParsePathGlob('$.a.*'), ['a', 'b'])).toBe(true);
    expect(globMatches(mustParsePathGlob('$["odd key"][2]'), ['odd key', 2])).toBe(true);
  });

  it('rejects malformed globs with a reason', () => {
    expect(parsePathGlob('items').ok).toBe(false);
    const bad = parsePathGlob('$.items[x');
    expect(bad.ok === false && bad.message).toContain('unclosed "["');
    const star = parsePathGlob('$.upd*');
    expect(star.ok === false && star.message).toContain('"*" must be a whole step');
  });
});

describe('diffJson', () => {
  it('reports changed, missing, extra and type differences with their paths', () => {
    const a = { id: 1, name: 'Ann', items: [{ price: 10 }, { price: 20 }], gone: true, n: 1 };
    const b = { id: 1, name: 'Bob', items: [{ price: 10 }, { price: 21 }], added: 'x', n: '1' };
    const d = diffJson(a, b, rules());
    expect(d).toEqual([
      { path: '$.name', field: '$.name', kind: 'changed', primary: 'Ann', candidate: 'Bob' },
      { path: '$.items[1].price', field: '$.items[*].price', kind: 'changed', primary: 20, candidate: 21 },
      { path: '$.gone', field: '$.gone', kind: 'missing', primary: true, candidate: null },
      { path: '$.n', field: '$.n', kind: 'type', primary: 1, candidate: '1' },
      { path: '$.added', field: '$.added', kind: 'extra', primary: null, candidate: 'x' },
    ]);
  });

  it('reports array length differences as missing/extra elements', () => {
    expect(diffJson([1, 2, 3], [1, 2], rules())).toEqual([{ path: '$[2]', field: '$[*]', kind: 'missing', primary: 3, candidate: null }]);
    expect(diffJson([1], [1, 5], rules())).toEqual([{ path: '$[1]', field: '$[*]', kind: 'extra', primary: null, candidate: 5 }]);
  });

  it('ignores paths by glob, including whole subtrees and missing keys', () => {
    const a = { request_id: 'a', user: { updated_at: 1, name: 'x' }, meta: { a: 1 }, items: [{ updated_at: 1 }] };
    const b = { request_id: 'b', user: { updated_at: 2, name: 'x' }, items: [{ updated_at: 3 }] };
    expect(diffJson(a, b, rules({ ignore: ['$.request_id', '$.**.updated_at', '$.meta'] }))).toEqual([]);
    expect(diffJson(a, b, rules({ ignore: ['$.request_id', '$.**.updated_at'] })).map((d) => d.path)).toEqual(['$.meta']);
  });

  it('compares numbers with a relative tolerance', () => {
    expect(numbersMatch(100, 100.05, 0.001)).toBe(true);
    expect(numbersMatch(100, 100.2, 0.001)).toBe(false);
    expect(numbersMatch(0, 0, 0)).toBe(true);
    expect(diffJson({ p: 9.999 }, { p: 10 }, rules({ tol: 0.001 }))).toEqual([]);
    expect(diffJson({ p: 9.9 }, { p: 10 }, rules({ tol: 0.001 }))).toHaveLength(1);
    expect(diffJson({ p: 9.999 }, { p: 10 }, rules())).toHaveLength(1);
  });

  it('compares unordered arrays as multisets, counting duplicates', () => {
    const r = rules({ unordered: ['$.tags'] });
    expect(diffJson({ tags: ['a', 'b', 'c'] }, { tags: ['c', 'a', 'b'] }, r)).toEqual([]);
    expect(diffJson({ tags: ['a', 'a', 'b'] }, { tags: ['a', 'b', 'b'] }, r)).toEqual([
      { path: '$.tags[1]', field: '$.tags[*]', kind: 'changed', primary: 'a', candidate: 'b' },
    ]);
    expect(diffJson({ tags: ['a', 'b'] }, { tags: ['b'] }, r)).toEqual([{ path: '$.tags[0]', field: '$.tags[*]', kind: 'missing', primary: 'a', candidate: null }]);
    // Without the rule, order matters.
    expect(diffJson({ tags: ['a', 'b'] }, { tags: ['b', 'a'] }, rules())).toHaveLength(2);
  });

  it('pairs unordered objects by best fit, so only the real field difference is reported', () => {
    const r = rules({ unordered: ['$.items'] });
    const a = { items: [{ id: 1, price: 10 }, { id: 2, price: 20 }, { id: 3, price: 30 }] };
    const b = { items: [{ id: 3, price: 30 }, { id: 2, price: 25 }, { id: 1, price: 10 }] };
    expect(diffJson(a, b, r)).toEqual([{ path: '$.items[1].price', field: '$.items[*].price', kind: 'changed', primary: 20, candidate: 25 }]);
  });

  it('matches unordered elements by a key field when one is given', () => {
    const r = rules({ unordered: [{ path: '$.items', key: 'id' }] });
    const a = { items: [{ id: 1, v: 'x' }, { id: 2, v: 'y' }, { id: 9, v: 'gone' }] };
    const b = { items: [{ id: 2, v: 'Y' }, { id: 1, v: 'x' }, { id: 4, v: 'new' }] };
    expect(diffJson(a, b, r)).toEqual([
      { path: '$.items[1].v', field: '$.items[*].v', kind: 'changed', primary: 'y', candidate: 'Y' },
      { path: '$.items[2].id', field: '$.items[*].id', kind: 'changed', primary: 9, candidate: 4 },
      { path: '$.items[2].v', field: '$.items[*].v', kind: 'changed', primary: 'gone', candidate: 'new' },
    ]);
  });

  it('applies ignores and tolerance inside unordered elements', () => {
    const r = rules({ unordered: ['$.items'], ignore: ['$.items[*].updated_at'], tol: 0.01 });
    const a = { items: [{ id: 1, p: 100, updated_at: 1 }, { id: 2, p: 200, updated_at: 1 }] };
    const b = { items: [{ id: 2, p: 200.5, updated_at: 9 }, { id: 1, p: 100, updated_at: 8 }] };
    expect(diffJson(a, b, r)).toEqual([]);
  });

  it('stops after maxDiffs entries', () => {
    const a = Array.from({ length: 50 }, (_, i) => i);
    const b = Array.from({ length: 50 }, (_, i) => i + 1000);
    expect(diffJson(a, b, rules({ max: 5 }))).toHaveLength(5);
  });
});
