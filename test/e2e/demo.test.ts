import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * `npm run demo -- --once` end to end (issue 6): the built demo runs as a child process, exactly as
 * a newcomer would start it, and its printed figures are checked: match rate and top differing
 * field from the shadow report, rows synced by CDC, the canary's split, and the rollback.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));
const DEMO = 'dist/examples/demo/main.js';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

function runDemo(args: string[], cwd = root): Promise<Run> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--enable-source-maps', join(cwd, DEMO), ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c));
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - t0 }));
  });
}

interface Counts {
  sent: number;
  legacy: number;
  users: number;
  other: number;
}

interface DemoSummary {
  ok: boolean;
  checks: { name: string; ok: boolean; detail: string }[];
  seed: { users: number; orders: number };
  cdc: { sourceRows: number; rowsSynced: number; write: { status: number; lagMs: number | null; servedEmail: string } };
  legacy: Counts;
  shadow: Counts & { compared: number; matched: number; matchRate: number; expectedMatchRate: number; topField: string; topFieldCount: number };
  canary: { off: Counts; on: Counts & { share: number; expectedShare: number; usersFromMetrics: number } };
  live: Counts & { compared: number };
  migrated: Counts;
  rollback: Counts;
  undo: Counts & { status: number };
}

describe('npm run demo -- --once', () => {
  it('walks every stage, passes every check, prints the figures and exits 0', async () => {
    const run = await runDemo(['--once']);
    const line = run.stdout.split('\n').find((l) => l.startsWith('DEMO SUMMARY '));
    expect(line, `no summary line; stdout:\n${run.stdout}\nstderr:\n${run.stderr}`).toBeDefined();
    const s = JSON.parse(line!.slice('DEMO SUMMARY '.length)) as DemoSummary;
    expect(s.checks.filter((c) => !c.ok)).toEqual([]);
    expect(s.ok).toBe(true);
    expect(run.code).toBe(0);
    expect(run.ms).toBeLessThan(60_000);

    // CDC: the snapshot copied every seeded user, and a user written through the proxy arrived.
    expect(s.cdc.sourceRows).toBe(s.seed.users);
    expect(s.cdc.rowsSynced).toBe(s.seed.users);
    expect(s.cdc.write.status).toBe(201);
    expect(s.cdc.write.lagMs).not.toBeNull();
    expect(s.cdc.write.servedEmail).toBe(s.cdc.write.servedEmail.toLowerCase());

    // Stage 1: all on the monolith.
    expect(s.legacy).toEqual({ sent: s.legacy.sent, legacy: s.legacy.sent, users: 0, other: 0 });

    // Stage 2: the monolith answered everything; every read was compared; the match rate is the
    // share of users whose email is already lower-case (about a third of the seed); the email is
    // the one differing field (request_id, server_time and name are ignored by the stage file).
    expect(s.shadow.legacy).toBe(s.shadow.sent);
    expect(s.shadow.compared).toBe(s.shadow.sent);
    expect(s.shadow.expectedMatchRate).toBeGreaterThan(0.2);
    expect(s.shadow.expectedMatchRate).toBeLessThan(0.5);
    expect(Math.abs(s.shadow.matchRate - s.shadow.expectedMatchRate)).toBeLessThan(0.02);
    expect(s.shadow.topField).toBe('$.data.email');
    expect(s.shadow.topFieldCount).toBe(s.shadow.compared - s.shadow.matched);

    // Stage 3: nothing moves while the flag is off; once on, 10% of users within tolerance, and
    // ficus's own request counter agrees with what the clients saw.
    expect(s.canary.off.users).toBe(0);
    expect(s.canary.on.expectedShare).toBe(0.1);
    expect(Math.abs(s.canary.on.share - 0.1)).toBeLessThan(0.04);
    expect(s.canary.on.legacy + s.canary.on.users).toBe(s.canary.on.sent);
    expect(s.canary.on.usersFromMetrics).toBe(s.canary.on.users);

    // Stages 4 and 5: the users service answers everything.
    expect(s.live.users).toBe(s.live.sent);
    expect(s.live.compared).toBe(s.live.sent);
    expect(s.migrated.users).toBe(s.migrated.sent);

    // Rollback by rule change: every read back on the monolith; the admin API's rollback undoes it.
    expect(s.rollback).toEqual({ ...s.rollback, legacy: s.rollback.sent, users: 0, other: 0 });
    expect(s.undo.status).toBe(200);
    expect(s.undo.users).toBe(s.undo.sent);

    // The human output tells the same story.
    for (const step of ['[setup]', '[cdc]', '[1/5 legacy]', '[2/5 shadow]', '[3/5 canary]', '[4/5 live]', '[5/5 migrated]', '[rollback]', '[undo]', '[done]']) {
      expect(run.stdout).toContain(step);
    }
    expect(run.stdout).toContain(`match rate ${(s.shadow.matchRate * 100).toFixed(1)}%`);
    expect(run.stdout).toContain('top differing field: $.data.email');
    expect(run.stdout).toContain(`${s.cdc.rowsSynced}/${s.cdc.sourceRows} rows synced`);
  }, 120_000);
});

describe('npm run demo -- --once with a stage that does not do what it says', () => {
  it('reports the failed check and exits 1', async () => {
    // A copy of the repository's layout (dist, rules, the CDC config; node_modules linked) in which
    // the "live" stage still only shadows: the users service never answers, and the demo must say so.
    const copy = mkdtempSync(join(tmpdir(), 'ficus-demo-broken-'));
    cpSync(join(root, 'package.json'), join(copy, 'package.json'));
    symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'), 'dir');
    cpSync(join(root, 'dist'), join(copy, 'dist'), { recursive: true });
    cpSync(join(root, 'rules'), join(copy, 'rules'), { recursive: true });
    mkdirSync(join(copy, 'examples/deploy'), { recursive: true });
    cpSync(join(root, 'examples/deploy/ficus-cdc.yaml'), join(copy, 'examples/deploy/ficus-cdc.yaml'));
    const live = join(copy, 'rules/users-4-live.yaml');
    const text = readFileSync(live, 'utf8');
    expect(text).toContain('mode: live');
    writeFileSync(live, text.replace('mode: live', 'mode: shadow'));

    const run = await runDemo(['--once'], copy);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    const s = JSON.parse(run.stdout.split('\n').find((l) => l.startsWith('DEMO SUMMARY '))!.slice('DEMO SUMMARY '.length)) as DemoSummary;
    expect(s.ok).toBe(false);
    // The CDC step reads the new user back while "live", so it sees the monolith answer too.
    expect(s.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['live: every read answered by the users service', 'cdc: the users service serves the new user']);
    expect(run.stdout).toMatch(/\[4\/5 live\].*FAIL \(expected users \d+\)/);
    expect(run.stdout).toContain('2 of 16 checks FAILED');
  }, 120_000);
});
