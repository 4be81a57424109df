import { afterEach, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import type { TestServer } from '../../helpers/http-servers.js';
import { startServer, until } from '../../helpers/http-servers.js';
import type { TestFicus } from '../../helpers/ficus-instance.js';
import { startTestFicus } from '../../helpers/ficus-instance.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const named = async (name: string): Promise<TestServer> => {
  const s = await startServer((_req, res) => res.end(name));
  cleanup.push(() => s.close());
  return s;
};

function rulesTo(target: 'a' | 'b', a: TestServer, b: TestServer, comment = ''): string {
  return `# ${comment}
version: 1
upstreams:
  a: { url: ${a.url} }
  b: { url: ${b.url} }
routes:
  - { name: moving, match: { path: /api/** }, to: ${target} }
default: a
`;
}

async function start(rules: string): Promise<TestFicus> {
  const f = await startTestFicus(rules, { accessLog: false });
  cleanup.push(() => f.close());
  return f;
}

describe('hot reload', () => {
  it('picks up a rules change without a restart and keeps serving an invalid change with the old table', async () => {
    const [a, b] = [await named('a'), await named('b')];
    const f = await start(rulesTo('a', a, b));
    expect(await (await request(`${f.url}/api/x`)).body.text()).toBe('a');

    f.writeRules(rulesTo('b', a, b));
    await until(async () => (await (await request(`${f.url}/api/x`)).body.text()) === 'b', 5000, 'reload to b');

    f.writeRules(rulesTo('b', a, b).replace('to: b', 'to: nowhere').replace('version: 1', 'versio: 1'));
    await until(() => f.logs.filter((l) => String(l.message).startsWith('rules rejected')).length >= 3, 5000, 'rejection log');
    const rejected = f.logs.filter((l) => String(l.message).startsWith('rules rejected')).map((l) => String(l.problem));
    expect(rejected.some((p) => /rules\.yaml:\d+:\d+: unknown upstream "nowhere"/.test(p))).toBe(true);
    expect(rejected.some((p) => /unknown key "versio".*did you mean "version"/.test(p))).toBe(true);
    expect(await (await request(`${f.url}/api/x`)).body.text()).toBe('b');
    const metrics = await (await request(`${f.adminUrl}/metrics`)).body.text();
    expect(metrics).toMatch(/ficus_rules_reloads_total\{result="failure"\} [1-9]/);
  });

  it('fails 0 requests across 20 reloads under steady load', { timeout: 60_000 }, async () => {
    const [a, b] = [await named('a'), await named('b')];
    const f = await start(rulesTo('a', a, b));
    const agent = new Agent({ connections: 16 });
    cleanup.push(() => agent.close());
    let stop = false;
    let ok = 0;
    const failures: string[] = [];
    const seen = new Set<string>();
    const worker = async () => {
      while (!stop) {
        try {
          const r = await request(`${f.url}/api/load`, { dispatcher: agent });
          const text = await r.body.text();
          if (r.statusCode === 200) {
            ok++;
            seen.add(text);
          } else failures.push(`${r.statusCode} ${text}`);
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    };
    const workers = Array.from({ length: 16 }, worker);
    for (let i = 1; i <= 20; i++) {
      const target = i % 2 === 0 ? 'a' : 'b';
      f.writeRules(rulesTo(target, a, b, `reload ${i}`));
      // version numbers count loads: the first load is v1, so reload i activates v(i+1)
      await until(() => f.rules.history.current?.version.startsWith(`v${i + 1}-`), 5000, `reload ${i}`);
      const okBefore = ok;
      await until(() => ok > okBefore + 50, 5000, 'traffic between reloads');
    }
    stop = true;
    await Promise.all(workers);
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(1000);
    expect([...seen].sort()).toEqual(['a', 'b']);
  });

  it('rolls back to the last good version through the admin API', async () => {
    const [a, b] = [await named('a'), await named('b')];
    const f = await start(rulesTo('a', a, b));
    f.writeRules(rulesTo('b', a, b));
    await until(async () => (await (await request(`${f.url}/api/x`)).body.text()) === 'b', 5000, 'reload to b');
    const r = await request(`${f.adminUrl}/rules/rollback`, { method: 'POST' });
    expect(r.statusCode).toBe(200);
    const body = (await r.body.json()) as { ok: boolean; restored: string };
    expect(body.ok).toBe(true);
    expect(body.restored).toMatch(/^v1-/);
    expect(await (await request(`${f.url}/api/x`)).body.text()).toBe('a');
  });

  it('refuses a rollback when there is no earlier version', async () => {
    const [a, b] = [await named('a'), await named('b')];
    const f = await start(rulesTo('a', a, b));
    const r = await request(`${f.adminUrl}/rules/rollback`, { method: 'POST' });
    expect(r.statusCode).toBe(409);
    expect(((await r.body.json()) as { error: { code: string } }).error.code).toBe('FICUS_ERR_RULES_NO_HISTORY');
  });
});
