import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import type { Logger } from '../../src/observability/logger.js';
import { createRegistry } from '../../src/observability/metrics.js';
import { CdcPipeline } from '../../src/cdc/pipeline.js';
import { loadAndCheck } from '../../src/cli/cdc-commands.js';
import { countRows, withClient } from './demo-env.js';

/**
 * Ficus CDC inside the demo's process: the deployment's config (examples/deploy/ficus-cdc.yaml),
 * with the embedded databases' URLs and the direct transport swapped in, checked and run exactly as
 * `ficus cdc run` would. The users table is snapshotted when the slot is created, then streamed.
 */
export interface CdcSync {
  readonly configFile: string;
  readonly sinkName: string;
  /** Waits until the service's table holds as many rows as the monolith's. */
  waitCaughtUp(timeoutMs: number): Promise<{ sourceRows: number; sinkRows: number; ms: number }>;
  /** Waits until the row with this id is in the service's table; resolves with the time it took. */
  waitForRow(id: string, since: number, timeoutMs: number): Promise<{ ms: number; email: string | null }>;
  /** Events the sink applied and its position, from ficus's own bookkeeping. */
  status(): Promise<{ eventsApplied: number; lagBytes: number | null; lagSeconds: number | null }>;
  stop(): Promise<void>;
}

export async function startCdcSync(options: { root: string; dir: string; legacyDbUrl: string; usersDbUrl: string; logger: Logger }): Promise<CdcSync> {
  // 1. The deployment's config, adapted: same tables and mapping, local URLs, direct transport.
  const doc = parseDocument(readFileSync(join(options.root, 'examples/deploy/ficus-cdc.yaml'), 'utf8'));
  doc.setIn(['source', 'url'], options.legacyDbUrl);
  doc.setIn(['source', 'heartbeat'], '1s');
  doc.set('transport', doc.createNode({ kind: 'direct' }));
  doc.setIn(['sinks', 0, 'url'], options.usersDbUrl);
  const sinkName = String(doc.getIn(['sinks', 0, 'name']));
  const configFile = join(options.dir, 'ficus-cdc.yaml');
  writeFileSync(configFile, doc.toString());

  // 2. Load, validate and check against both databases, as `ficus cdc run` does.
  const problems: string[] = [];
  const ready = await loadAndCheck(configFile, { out: () => {}, err: (s) => problems.push(s) });
  if (!ready) throw new Error(`the CDC config does not load:\n${problems.join('\n')}`);

  // 3. Run the pipeline: snapshot, then stream.
  const pipeline = new CdcPipeline(ready.model, ready.catalog, { logger: options.logger.child({ component: 'cdc' }), registry: createRegistry() });
  await pipeline.start();

  const pollUntil = async <T>(probe: () => Promise<T | null>, timeoutMs: number, what: string): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await probe();
      if (v !== null) return v;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  return {
    configFile,
    sinkName,
    waitCaughtUp: async (timeoutMs) => {
      const t0 = Date.now();
      return pollUntil(
        async () => {
          const sourceRows = await countRows(options.legacyDbUrl, 'users');
          const sinkRows = await countRows(options.usersDbUrl, 'users');
          return sinkRows === sourceRows ? { sourceRows, sinkRows, ms: Date.now() - t0 } : null;
        },
        timeoutMs,
        'the users service to catch up',
      );
    },
    waitForRow: (id, since, timeoutMs) =>
      pollUntil(
        () =>
          withClient(options.usersDbUrl, async (c) => {
            const r = await c.query<{ email_address: string | null }>('SELECT email_address FROM users WHERE id = $1', [id]);
            return r.rows.length > 0 ? { ms: Date.now() - since, email: r.rows[0].email_address } : null;
          }),
        timeoutMs,
        `user ${id} to reach the users service`,
      ),
    status: async () => {
      const s = await pipeline.status();
      const sink = s.sinks.find((x) => x.sink === sinkName);
      return { eventsApplied: sink?.eventsApplied ?? 0, lagBytes: s.source.lagBytes, lagSeconds: s.source.lagSeconds };
    },
    stop: () => pipeline.stop(),
  };
}
