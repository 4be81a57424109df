import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { prepareStageFiles, STAGES } from '../../../examples/demo/stage-files.js';
import type { StageName } from '../../../examples/demo/stage-files.js';
import type { FicusHandle } from '../../../src/main.js';
import { startFicus } from '../../../src/main.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { runCli } from '../../helpers/cli-process.js';
import type { TestServer } from '../../helpers/http-servers.js';
import { startEchoServer } from '../../helpers/http-servers.js';

/**
 * The five migration stages in rules/ (issue 6): each passes `ficus validate`, and each routes the
 * users API the way its name says when ficus runs it (ports substituted the way the demo does).
 */
const files = STAGES.map((s) => `rules/${s}.yaml`);

describe('rules/users-*.yaml stage files', () => {
  it('all pass ficus validate (flags file included)', async () => {
    const r = await runCli(['validate', ...files]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (const f of files) expect(r.stdout).toContain(`${f}: ok`);
  });

  it('share upstreams, flags section and write route, and shadowing stages ignore the same noise fields', () => {
    interface Route { name: string; to?: string; match: { methods: string[] }; shadow?: { compare?: { ignore?: string[] } } }
    const docs = files.map((f) => parse(readFileSync(f, 'utf8')) as { upstreams: unknown; flags: unknown; default: string; routes: Route[] });
    for (const d of docs) {
      expect(d.upstreams).toEqual(docs[0].upstreams);
      expect(d.flags).toEqual(docs[0].flags);
      const write = d.routes.find((r) => r.name === 'users-write')!;
      expect(write.to).toBe(d.default);
      expect(write.match.methods.sort()).toEqual(['DELETE', 'PATCH', 'POST', 'PUT']);
    }
    const ignores = docs.map((d) => d.routes.find((r) => r.name === 'users-read')!.shadow?.compare?.ignore ?? null);
    expect(ignores).toEqual([null, ignores[1], ignores[1], ignores[1], null]);
    expect(ignores[1]).toEqual(expect.arrayContaining(['$.request_id', '$.server_time', '$.**.name']));
  });
});

describe('each stage routes reads and writes as named', () => {
  let legacy: TestServer;
  let users: TestServer;
  beforeAll(async () => {
    legacy = await startEchoServer('legacy');
    users = await startEchoServer('users');
  });
  afterAll(async () => {
    await legacy.close();
    await users.close();
  });

  async function answers(stage: StageName, canaryOn: boolean): Promise<{ reads: Record<string, number>; writes: Record<string, number> }> {
    const stages = prepareStageFiles(mkdtempSync(join(tmpdir(), 'ficus-stages-')), { legacy: legacy.url, users: users.url });
    stages.setCanary(canaryOn);
    stages.write(stage);
    const ficus: FicusHandle = await startFicus({ rulesFile: stages.activeFile, baseDir: stages.baseDir, port: 0, adminPort: null, watch: false, logger: silentLogger() });
    try {
      const count = async (method: string, n: number) => {
        const out: Record<string, number> = {};
        for (let i = 0; i < n; i++) {
          const r = await request(`http://127.0.0.1:${ficus.port}/api/users/u${i}`, { method, headers: { 'x-user-id': `user-${i}` }, body: method === 'GET' ? undefined : '{}' });
          await r.body.dump();
          const who = String(r.headers['x-upstream']);
          out[who] = (out[who] ?? 0) + 1;
        }
        return out;
      };
      return { reads: await count('GET', 400), writes: await count('POST', 20) };
    } finally {
      await ficus.close();
    }
  }

  it.each([
    ['users-1-legacy', false, { legacy: 400 }],
    ['users-2-shadow', false, { legacy: 400 }],
    ['users-3-canary', false, { legacy: 400 }],
    ['users-4-live', false, { users: 400 }],
    ['users-5-migrated', false, { users: 400 }],
  ] as const)('%s (canary flag on: %s): reads answered %j, writes by the monolith', async (stage, on, expected) => {
    const r = await answers(stage, on);
    expect(r.reads).toEqual(expected);
    expect(r.writes).toEqual({ legacy: 20 });
  });

  it('users-3-canary with the flag on: about 10% of users read from the users service, writes still by the monolith', async () => {
    const r = await answers('users-3-canary', true);
    expect((r.reads.legacy ?? 0) + (r.reads.users ?? 0)).toBe(400);
    expect(r.reads.users / 400).toBeGreaterThan(0.05);
    expect(r.reads.users / 400).toBeLessThan(0.15);
    expect(r.writes).toEqual({ legacy: 20 });
  });
});
