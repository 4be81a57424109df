import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { Command } from 'commander';
import pg from 'pg';
import { formatProblems } from '../config/problems.js';
import { createLogger } from '../observability/logger.js';
import type { Logger } from '../observability/logger.js';
import { createRegistry } from '../observability/metrics.js';
import { formatCdcStatus, readCdcStatus } from '../cdc/cdc-status.js';
import { cdcConfigJsonSchema } from '../cdc/config/cdc-config-schema.js';
import type { CdcModel } from '../cdc/config/cdc-model.js';
import { quoteIdent, tableKey } from '../cdc/config/cdc-model.js';
import type { SourceCatalog } from '../cdc/config/check-databases.js';
import { checkAgainstDatabases } from '../cdc/config/check-databases.js';
import { loadCdcConfig } from '../cdc/config/load-cdc-config.js';
import { encodeJson } from '../cdc/event/event-codec.js';
import { CdcPipeline } from '../cdc/pipeline.js';

/** Where CLI output goes; tests pass their own. */
export interface CliIo {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
}

const stdio: CliIo = { out: (s) => process.stdout.write(`${s}\n`), err: (s) => process.stderr.write(`${s}\n`) };

/** Exit codes: 0 ok, 1 not equal / failed, 2 config error. */
export const EXIT_CONFIG = 2;

/** Loads the config file and runs the start-up checks against the databases; prints located problems. */
export async function loadAndCheck(file: string, io: CliIo): Promise<{ model: CdcModel; catalog: SourceCatalog } | null> {
  const loaded = await loadCdcConfig(file);
  if (!loaded.ok) {
    io.err(`FICUS_ERR_CONFIG_INVALID: ${file} has ${loaded.problems.length} problem${loaded.problems.length === 1 ? '' : 's'}:\n${formatProblems(loaded.problems)}`);
    return null;
  }
  const checked = await checkAgainstDatabases(loaded.model, loaded.locate);
  if (!checked.ok) {
    io.err(`FICUS_ERR_CDC_CONFIG_MISMATCH: ${file} does not match the databases:\n${formatProblems(checked.problems)}`);
    return null;
  }
  return { model: checked.model, catalog: checked.catalog };
}

export interface RunOptions {
  readonly io?: CliIo;
  readonly logger?: Logger;
  /** Signals that stop the pipeline gracefully; default SIGINT and SIGTERM. */
  readonly signals?: readonly NodeJS.Signals[];
  /** Serve Prometheus metrics (slot lag, events, sink batches) on 127.0.0.1:<port>/metrics; 0 = any free port. */
  readonly metricsPort?: number;
  /** Called once the pipeline runs (tests use it to find the metrics port). */
  readonly onReady?: (info: { metricsUrl: string | null }) => void;
}

/**
 * `ficus cdc run --config FILE`: checks, then runs until SIGINT/SIGTERM; on a signal it delivers
 * and acknowledges what it holds, closes everything and returns 0.
 */
export async function runCdc(file: string, options: RunOptions = {}): Promise<number> {
  const io = options.io ?? stdio;
  const ready = await loadAndCheck(file, io);
  if (!ready) return EXIT_CONFIG;
  const { model, catalog } = ready;
  const logger = options.logger ?? createLogger({ service: 'ficus-cdc' });
  io.err(`ficus cdc: config ${file}; slot ${model.source.slot}, publication ${model.source.publication}, tables ${model.source.tables.map(tableKey).join(', ')}; transport ${model.transport.kind}; sinks ${model.sinks.map((s) => s.name).join(', ')}; snapshot ${model.source.snapshot}`);
  const registry = createRegistry();
  const pipeline = new CdcPipeline(model, catalog, {
    logger,
    registry,
    onSnapshotProgress: (p) => io.err(`snapshot ${p.table}: ${p.rows}${p.estimate ? `/~${p.estimate}` : ''} rows, ${Math.round(p.rowsPerSecond)} rows/s${p.done ? ' (done)' : ''}`),
  });
  await pipeline.start();
  let metricsServer: Server | null = null;
  let metricsUrl: string | null = null;
  if (options.metricsPort !== undefined) {
    metricsServer = createServer((req, res) => {
      if (req.url !== '/metrics') { res.writeHead(404).end(); return; }
      registry.metrics().then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text), () => res.writeHead(500).end());
    });
    await new Promise<void>((r) => metricsServer?.listen(options.metricsPort, '127.0.0.1', r));
    const addr = metricsServer.address();
    metricsUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : options.metricsPort}/metrics`;
    io.err(`ficus cdc: metrics at ${metricsUrl}`);
  }
  options.onReady?.({ metricsUrl });
  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= pipeline.stop();
    return stopping;
  };
  const signals = options.signals ?? ['SIGINT', 'SIGTERM'];
  const onSignal = () => { io.err('ficus cdc: stopping (flush and acknowledge)'); void stop(); };
  for (const s of signals) process.on(s, onSignal);
  try {
    await pipeline.wait();
    await stop();
  } finally {
    for (const s of signals) process.off(s, onSignal);
    await new Promise<void>((r) => (metricsServer ? metricsServer.close(() => r()) : r()));
  }
  io.err('ficus cdc: stopped');
  return 0;
}

export async function statusCdc(file: string, options: { json?: boolean; io?: CliIo; sampleMs?: number } = {}): Promise<number> {
  const io = options.io ?? stdio;
  const loaded = await loadCdcConfig(file);
  if (!loaded.ok) { io.err(formatProblems(loaded.problems)); return EXIT_CONFIG; }
  const report = await readCdcStatus(loaded.model, { sampleMs: options.sampleMs });
  io.out(options.json ? encodeJson(report) : formatCdcStatus(report));
  return 0;
}

export async function reconcileCdc(file: string, options: { json?: boolean; io?: CliIo; chunkSize?: number } = {}): Promise<number> {
  const io = options.io ?? stdio;
  const ready = await loadAndCheck(file, io);
  if (!ready) return EXIT_CONFIG;
  // Loaded on demand: `cdc run` and `cdc status` do not pay for it.
  const { runReconcileCommand } = await import('../cdc/reconcile/reconcile.js');
  return runReconcileCommand(ready.model, { json: options.json ?? false, out: io.out, err: io.err, chunkSize: options.chunkSize });
}

/**
 * `ficus cdc drop --config FILE`: the only place ficus drops its slot (and, unless kept, its
 * publication and snapshot bookkeeping). Refuses while the slot is in use by a running `cdc run`.
 */
export async function dropCdc(file: string, options: { keepPublication?: boolean; io?: CliIo } = {}): Promise<number> {
  const io = options.io ?? stdio;
  const loaded = await loadCdcConfig(file);
  if (!loaded.ok) { io.err(formatProblems(loaded.problems)); return EXIT_CONFIG; }
  const { source } = loaded.model;
  const c = new pg.Client({ connectionString: source.url });
  await c.connect();
  try {
    const slot = await c.query<{ active: boolean }>('select active from pg_replication_slots where slot_name = $1', [source.slot]);
    if (slot.rows[0]?.active) {
      io.err(`slot ${source.slot} is in use (is ficus cdc run still running?); stop it first`);
      return 1;
    }
    if (slot.rows.length > 0) await c.query('select pg_drop_replication_slot($1)', [source.slot]);
    await c.query('delete from ficus_cdc_snapshot where slot = $1', [source.slot]).catch(() => {});
    if (!options.keepPublication) await c.query(`DROP PUBLICATION IF EXISTS ${quoteIdent(source.publication)}`);
    io.out(`dropped slot ${source.slot}${slot.rows.length === 0 ? ' (it did not exist)' : ''}${options.keepPublication ? '' : ` and publication ${source.publication}`}`);
    return 0;
  } finally {
    await c.end().catch(() => {});
  }
}

/** Registers `cdc run|status|reconcile|drop|schema` on the lead's commander program. */
export function registerCdcCommands(program: Command, io: CliIo = stdio): Command {
  const cdc = program.command('cdc').description('change data capture: stream the monolith\'s Postgres into service databases');
  const exit = (code: number) => { process.exitCode = code; };
  cdc.command('run').description('run the pipeline (Ctrl-C / SIGTERM: flush, acknowledge, exit 0)')
    .requiredOption('-c, --config <file>', 'CDC config file (YAML)')
    .option('--metrics-port <port>', 'serve Prometheus metrics on 127.0.0.1:<port>/metrics', (v) => Number(v))
    .action(async (o: { config: string; metricsPort?: number }) => exit(await runCdc(o.config, { io, metricsPort: o.metricsPort })));
  cdc.command('status').description('slot lag, positions, per-sink lag, events/s, dead letters')
    .requiredOption('-c, --config <file>', 'CDC config file (YAML)')
    .option('--json', 'machine-readable output')
    .action(async (o: { config: string; json?: boolean }) => exit(await statusCdc(o.config, { json: o.json, io })));
  cdc.command('reconcile').description('compare source and sink tables (counts + chunked hashes); exit 1 when they differ')
    .requiredOption('-c, --config <file>', 'CDC config file (YAML)')
    .option('--json', 'machine-readable output')
    .option('--chunk-size <rows>', 'rows per hashed key range (default 1000)', (v) => Number(v))
    .action(async (o: { config: string; json?: boolean; chunkSize?: number }) => exit(await reconcileCdc(o.config, { json: o.json, io, chunkSize: o.chunkSize })));
  cdc.command('drop').description('drop the replication slot (and publication): ficus never does this on its own')
    .requiredOption('-c, --config <file>', 'CDC config file (YAML)')
    .option('--keep-publication', 'drop only the slot')
    .action(async (o: { config: string; keepPublication?: boolean }) => exit(await dropCdc(o.config, { keepPublication: o.keepPublication, io })));
  cdc.command('schema').description('print the JSON Schema of the CDC config file')
    .action(() => { io.out(JSON.stringify(cdcConfigJsonSchema(), null, 2)); exit(0); });
  return cdc;
}
