import type { Command } from 'commander';
import { request } from 'undici';
import { FicusError, ficusError } from '../../errors.js';
import type { ShadowReport } from './build-report.js';
import { renderShadowReport } from './render-report.js';

export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:9901';

export interface CliIo {
  readonly out: (text: string) => void;
}

const stdoutIo: CliIo = { out: (t) => process.stdout.write(t) };

/** Fetches `GET /shadow/report` from a running ficus admin API. */
export async function fetchShadowReport(admin: string, route?: string): Promise<ShadowReport> {
  const url = new URL('/shadow/report', admin);
  if (route !== undefined) url.searchParams.set('route', route);
  let res;
  try {
    res = await request(url, { method: 'GET', headersTimeout: 10_000, bodyTimeout: 10_000 });
  } catch (err) {
    throw new FicusError('FICUS_ERR_ADMIN_UNREACHABLE', [admin], { cause: err });
  }
  if (res.statusCode !== 200) {
    const body = await res.body.text();
    throw ficusError('FICUS_ERR_ADMIN_UNREACHABLE', `${admin} (HTTP ${res.statusCode}: ${body.slice(0, 200)})`);
  }
  return (await res.body.json()) as ShadowReport;
}

/** `ficus shadow report [--route NAME] [--json] [--admin URL]`, thin over the admin API. */
export function registerShadowCommands(program: Command, io: CliIo = stdoutIo): Command {
  const shadow = program.command('shadow').description('shadow traffic: compare the new service with the monolith on live requests');
  shadow
    .command('report')
    .description('per route and endpoint: requests compared, match rate, noise-adjusted match rate, top differing fields, skipped and dropped copies')
    .option('--route <name>', 'only this route')
    .option('--json', 'print the report as JSON (for scripts)')
    .option('--admin <url>', 'ficus admin API URL', process.env.FICUS_ADMIN_URL ?? DEFAULT_ADMIN_URL)
    .action(async (opts: { route?: string; json?: boolean; admin: string }) => {
      const report = await fetchShadowReport(opts.admin, opts.route);
      io.out(opts.json ? `${JSON.stringify(report, null, 2)}\n` : renderShadowReport(report));
    });
  return shadow;
}
