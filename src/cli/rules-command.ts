import type { Command } from 'commander';
import { request } from 'undici';
import { FicusError } from '../errors.js';

const DEFAULT_ADMIN = process.env.FICUS_ADMIN_URL ?? 'http://127.0.0.1:9901';

async function admin(url: string, path: string, method: 'GET' | 'POST'): Promise<{ status: number; body: unknown }> {
  try {
    const r = await request(new URL(path, url), { method });
    return { status: r.statusCode, body: await r.body.json() };
  } catch (err) {
    throw new FicusError('FICUS_ERR_ADMIN_UNREACHABLE', [url], { cause: err });
  }
}

/** `ficus rules versions|reload|rollback`: the rules control plane, over the admin API. */
export function registerRulesCommands(program: Command): void {
  const rules = program.command('rules').description('inspect, reload and roll back the running rules (through the admin API)');
  const withAdmin = (c: Command) => c.option('--admin <url>', 'ficus admin API URL', DEFAULT_ADMIN).option('--json', 'print the answer as JSON');
  withAdmin(rules.command('versions').description('the good versions the proxy has served, newest first')).action(async (o: { admin: string; json?: boolean }) => {
    const r = await admin(o.admin, '/rules/versions', 'GET');
    const versions = (r.body as { versions: { version: string; loadedAt: string }[] }).versions;
    process.stdout.write(o.json ? JSON.stringify(r.body) + '\n' : versions.map((v, i) => `${i === 0 ? '*' : ' '} ${v.version}  ${v.loadedAt}`).join('\n') + '\n');
  });
  withAdmin(rules.command('reload').description('reload the rules file now')).action(async (o: { admin: string; json?: boolean }) => {
    const r = await admin(o.admin, '/rules/reload', 'POST');
    report(r, o.json);
  });
  withAdmin(rules.command('rollback').description('restore the last good version of the rules (writes it back to the rules file)')).action(async (o: { admin: string; json?: boolean }) => {
    const r = await admin(o.admin, '/rules/rollback', 'POST');
    report(r, o.json);
  });
}

function report(r: { status: number; body: unknown }, json?: boolean): void {
  const b = r.body as { ok: boolean; version?: string; restored?: string; problems?: { file: string; line: number; col: number; message: string }[]; error?: { code: string; message: string } };
  if (json) process.stdout.write(JSON.stringify(b) + '\n');
  else if (b.ok) process.stdout.write(b.restored ? `rolled back: now serving ${b.version} (restored ${b.restored})\n` : `serving ${b.version}\n`);
  else if (b.problems) for (const p of b.problems) process.stderr.write(`${p.file}:${p.line}:${p.col}: ${p.message}\n`);
  else if (b.error) process.stderr.write(`ficus: ${b.error.code}: ${b.error.message}\n`);
  if (!b.ok) process.exitCode = 1;
}
