import { describe, expect, it } from 'vitest';
import { cookieValue, queryValue, stickyBucket } from '../../../src/proxy/decide.js';
import { normalizeTarget } from '../../../src/proxy/request-path.js';
import { compareSpecificity, parsePathPattern } from '../../../src/rules/path-pattern.js';
import type { PathPattern } from '../../../src/rules/path-pattern.js';

const p = (s: string): PathPattern => {
  const r = parsePathPattern(s);
  if (!r.ok) throw new Error(r.message);
  return r.pattern;
};

describe('path specificity', () => {
  it('orders literal > param > * > ** segment by segment, and longer literal prefixes first', () => {
    const sorted = ['/api/**', '/api/users/**', '/api/users/:id', '/api/users/admin', '/api/*/profile', '/**', '/api/users']
      .map(p)
      .sort(compareSpecificity)
      .map((x) => x.source);
    expect(sorted).toEqual(['/api/users/admin', '/api/users/:id', '/api/users', '/api/users/**', '/api/*/profile', '/api/**', '/**']);
  });
});

describe('sticky buckets', () => {
  it('are stable and spread keys evenly', () => {
    expect(stickyBucket('r', 'user-1')).toBe(stickyBucket('r', 'user-1'));
    const buckets = new Array(10).fill(0);
    for (let i = 0; i < 20_000; i++) buckets[Math.floor(stickyBucket('route', `u${i}`) / 1000)]++;
    for (const b of buckets) expect(Math.abs(b - 2000)).toBeLessThan(200);
  });

  it('reads cookies and query parameters', () => {
    expect(cookieValue('a=1; session=xyz ;b=2', 'session')).toBe('xyz');
    expect(cookieValue('a=1', 'session')).toBeNull();
    expect(queryValue('?a=1&uid=u%2042&b', 'uid')).toBe('u 42');
    expect(queryValue('', 'uid')).toBeNull();
  });
});

describe('normalizeTarget', () => {
  it('leaves ordinary paths untouched and counts segments', () => {
    expect(normalizeTarget('/api/users/7?x=1')).toEqual({ path: '/api/users/7', query: '?x=1', segs: ['api', 'users', '7'], segCount: 3 });
    expect(normalizeTarget('/')).toEqual({ path: '/', query: '', segs: [], segCount: 0 });
    expect(normalizeTarget('/a/')).toMatchObject({ segs: ['a', ''], segCount: 1 });
  });
});
