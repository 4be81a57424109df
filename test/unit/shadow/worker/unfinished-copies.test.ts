import { describe, expect, it } from 'vitest';
import { UnfinishedCopies } from '../../../../src/shadow/worker/unfinished-copies.js';

const roles = { primary: 'legacy', candidate: 'new' } as const;

describe('unfinished copies', () => {
  it('counts copies per route and endpoint until their results come back', () => {
    const u = new UnfinishedCopies();
    for (let i = 0; i < 3; i++) u.add('users', 'GET /users/:id', roles, 1);
    u.add('users', 'GET /users', roles, 1);
    u.add('orders', 'GET /orders/:id', roles, 1);
    u.add('users', 'GET /users/:id', roles, -2);
    u.add('orders', 'GET /orders/:id', roles, -1);
    expect(u.takeAll()).toEqual([
      { route: 'users', endpoint: 'GET /users/:id', roles, n: 1 },
      { route: 'users', endpoint: 'GET /users', roles, n: 1 },
    ]);
    expect(u.takeAll()).toEqual([]);
  });

  it('ignores results for copies it no longer counts, and never goes below 0', () => {
    const u = new UnfinishedCopies();
    u.add('users', 'GET /users/:id', roles, -5);
    u.add('users', 'GET /users/:id', roles, 1);
    u.add('users', 'GET /users/:id', roles, -3);
    u.add('users', 'GET /users/:id', roles, 2);
    expect(u.takeAll()).toEqual([{ route: 'users', endpoint: 'GET /users/:id', roles, n: 2 }]);
  });
});
