import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../../helpers/http-servers.js';
import { rawTarget, startServer } from '../../helpers/http-servers.js';
import type { TestFicus } from '../../helpers/ficus-instance.js';
import { startTestFicus } from '../../helpers/ficus-instance.js';

// Each upstream answers with its name and the exact target it received, so a test sees both the
// routing decision and the path the upstream got.
let legacy: TestServer;
let users: TestServer;
let admin: TestServer;
let ficus: TestFicus;

const named = (name: string) => startServer((req, res) => res.end(JSON.stringify({ upstream: name, url: req.url })));

beforeAll(async () => {
  [legacy, users, admin] = await Promise.all([named('legacy'), named('users'), named('admin')]);
  ficus = await startTestFicus(`
version: 1
upstreams:
  legacy: { url: ${legacy.url} }
  users: { url: ${users.url} }
  admin: { url: ${admin.url} }
routes:
  - { name: users, match: { path: /api/users/** }, to: users, rewrite: { stripPrefix: /api/users, addPrefix: /v1 } }
  - { name: admin, match: { path: /api/admin/** }, to: admin }
default: legacy
`, { accessLog: false });
});

afterAll(async () => {
  await ficus.close();
  await Promise.all([legacy.close(), users.close(), admin.close()]);
});

// [target sent, upstream expected, path the upstream receives]
const ROUTED: [string, string, string][] = [
  ['/api/users/../admin', 'admin', '/api/admin'],
  ['/api/users/../admin/', 'admin', '/api/admin/'],
  ['/api/users/%2e%2e/admin', 'admin', '/api/admin'],
  ['/api/users/%2E%2E/admin', 'admin', '/api/admin'],
  ['/api/users/.%2e/admin', 'admin', '/api/admin'],
  ['/api/users/./7', 'users', '/v1/7'],
  ['/api/./users/7', 'users', '/v1/7'],
  ['/api//users//7', 'users', '/v1/7'],
  ['//api/users/7', 'users', '/v1/7'],
  ['/api/users/7/..', 'users', '/v1/'],
  ['/API/users/7', 'legacy', '/API/users/7'], // case is significant
  ['/api/Users/7', 'legacy', '/api/Users/7'],
  ['/api/users/%41b', 'users', '/v1/Ab'], // unreserved escapes are decoded
  ['/api/users/a%20b', 'users', '/v1/a%20b'], // others are kept
  ['/api/users/7?next=/api/admin/../x', 'users', '/v1/7?next=/api/admin/../x'], // query untouched
  ['/api/usersX/7', 'legacy', '/api/usersX/7'],
  ['/api/users', 'users', '/v1'], // ** matches nothing; the whole prefix is stripped, then /v1 added
];

const REJECTED: string[] = [
  '/api/users/a%2fb', // encoded slash
  '/api/users/a%2Fb',
  '/api/users/a%5cb', // encoded backslash
  '/api/users/%00',
  '/api/users/%zz',
  '/api/users/%2',
  '/../etc/passwd',
  '/api/../../etc/passwd',
  '/api/%2e%2e/%2e%2e/etc',
  'api/users/7',
];

describe('path normalization corpus', () => {
  for (const [target, upstream, path] of ROUTED) {
    it(`routes ${target} to ${upstream} as ${path}`, async () => {
      const r = await rawTarget(ficus.port, target);
      expect(r.status).toBe(200);
      const got = JSON.parse(r.body) as { upstream: string; url: string };
      expect(got.upstream).toBe(upstream);
      expect(got.url).toBe(path);
    });
  }

  for (const target of REJECTED) {
    it(`rejects ${target} with 400`, async () => {
      const r = await rawTarget(ficus.port, target);
      expect(r.status).toBe(400);
    });
  }

  it('never lets /api/users/../admin reach users as /admin', async () => {
    const r = await rawTarget(ficus.port, '/api/users/../admin');
    expect(JSON.parse(r.body)).toEqual({ upstream: 'admin', url: '/api/admin' });
  });
});
