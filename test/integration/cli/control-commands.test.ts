import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../../helpers/http-servers.js';
import { startServer, until } from '../../helpers/http-servers.js';
import type { TestFicus } from '../../helpers/ficus-instance.js';
import { startTestFicus } from '../../helpers/ficus-instance.js';
import { runCli } from '../../helpers/cli-process.js';

let a: TestServer;
let b: TestServer;
let ficus: TestFicus;
const rules = (to: string) => `version: 1\nupstreams: { a: { url: ${a.url} }, b: { url: ${b.url} } }\nroutes:\n  - { name: r, match: { path: /x/** }, to: ${to}, mode: shadow }\ndefault: a\n`;

beforeAll(async () => {
  const json = (v: number) => startServer((_q, s) => s.writeHead(200, { 'content-type': 'application/json' }).end(`{"v":${v}}`));
  a = await json(1);
  b = await json(2);
  ficus = await startTestFicus(rules('b'), { accessLog: false, shadowLoadProbe: { utilization: () => 0, close() {} } });
});
afterAll(async () => {
  await ficus.close();
  await Promise.all([a.close(), b.close()]);
});

describe('ficus rules', () => {
  it('lists versions and rolls back through the admin API', async () => {
    ficus.writeRules(rules('b').replace('mode: shadow', 'mode: migrated'));
    await until(() => ficus.rules.history.list().length === 2, 5000, 'reload');
    const versions = await runCli(['rules', 'versions', '--admin', ficus.adminUrl]);
    expect(versions.code).toBe(0);
    expect(versions.stdout.split('\n')[0]).toMatch(/^\* v2-/);
    const rb = await runCli(['rules', 'rollback', '--admin', ficus.adminUrl, '--json']);
    expect(rb.code).toBe(0);
    expect(JSON.parse(rb.stdout)).toMatchObject({ ok: true, restored: expect.stringMatching(/^v1-/) });
  });

  it('says clearly when the admin API cannot be reached', async () => {
    const r = await runCli(['rules', 'versions', '--admin', 'http://127.0.0.1:9']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('FICUS_ERR_ADMIN_UNREACHABLE: admin API at http://127.0.0.1:9 cannot be reached');
  });
});

describe('ficus shadow report', () => {
  it('prints the report from the admin API, as a table and as JSON', async () => {
    await fetch(`${ficus.url}/x/1`).then((r) => r.text());
    await ficus.shadow.idle();
    const json = await runCli(['shadow', 'report', '--admin', ficus.adminUrl, '--json']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as { routes: { route: string; compared: number; endpoints: { topFields: { field: string }[] }[] }[] };
    expect(report.routes[0]).toMatchObject({ route: 'r', compared: 1 });
    expect(report.routes[0].endpoints[0].topFields[0].field).toBe('$.v');
    const table = await runCli(['shadow', 'report', '--admin', ficus.adminUrl]);
    expect(table.stdout).toContain('$.v');
  });
});

describe('ficus flags', () => {
  it('sets, lists and clears a shared override in Redis', async () => {
    const prefix = `ficus-cli-${process.pid}-${Date.now()}`;
    const redis = new Redis('redis://127.0.0.1:6379');
    try {
      const set = await runCli(['flags', 'set', 'orders-migration', '--rollout', '50', '--on', '--prefix', prefix, '--json']);
      expect(set.code).toBe(0);
      expect(JSON.parse(set.stdout)).toEqual({ flag: 'orders-migration', override: { rollout: 50, on: true } });
      expect(JSON.parse((await redis.hget(`${prefix}:overrides`, 'orders-migration'))!)).toEqual({ rollout: 50, on: true });
      const list = await runCli(['flags', 'list', '--prefix', prefix]);
      expect(list.stdout).toMatch(/^orders-migration: \{/);
      expect(JSON.parse(list.stdout.slice(list.stdout.indexOf('{')))).toEqual({ rollout: 50, on: true });
      const clear = await runCli(['flags', 'clear', 'orders-migration', '--prefix', prefix]);
      expect(clear.stdout).toContain('override removed');
      expect(await redis.hget(`${prefix}:overrides`, 'orders-migration')).toBeNull();
      const bad = await runCli(['flags', 'set', 'x', '--rollout', '150', '--prefix', prefix]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('invalid --rollout "150"');
    } finally {
      await redis.del(`${prefix}:overrides`);
      redis.disconnect();
    }
  });
});
