import { parseDuration } from '../../config/duration.js';
import type { Loaded, SemanticCheck } from '../../config/load-yaml-file.js';
import { loadYamlFile, validateYaml } from '../../config/load-yaml-file.js';
import type { Locator } from '../../config/yaml-source.js';
import { cdcConfigSchema } from './cdc-config-schema.js';
import type { CdcConfigFile, CdcModel, SinkModel, TableMapping } from './cdc-model.js';
import { CDC_DEFAULTS, parseTableName, tableKey } from './cdc-model.js';

const TRANSPORT_KEYS: Record<string, readonly string[]> = {
  direct: ['kind'],
  redis: ['kind', 'url', 'maxLen'],
  kafka: ['kind', 'brokers', 'clientId'],
};

/**
 * Cross-field checks the schema cannot express: keys that belong to another transport kind,
 * sink tables that map a table the source does not capture, duplicate sink names or targets.
 */
const checkCdcConfig: SemanticCheck = (raw, v) => {
  const cfg = raw as Partial<CdcConfigFile>;
  const t = cfg.transport;
  if (t && typeof t === 'object' && typeof t.kind === 'string' && TRANSPORT_KEYS[t.kind]) {
    const allowed = TRANSPORT_KEYS[t.kind];
    for (const key of Object.keys(t)) {
      if (!allowed.includes(key)) v.report(['transport', key], `"transport.${key}" does not apply to transport kind "${t.kind}"`, true);
    }
    if (t.kind === 'redis' && t.url === undefined) v.report(['transport'], 'transport kind "redis" needs "url"');
    if (t.kind === 'kafka' && t.brokers === undefined) v.report(['transport'], 'transport kind "kafka" needs "brokers"');
  }
  const captured = new Set((Array.isArray(cfg.source?.tables) ? cfg.source.tables : []).filter((x) => typeof x === 'string').map((x) => tableKey(parseTableName(x))));
  const seenCaptured = new Set<string>();
  (Array.isArray(cfg.source?.tables) ? cfg.source.tables : []).forEach((name, i) => {
    if (typeof name !== 'string') return;
    const k = tableKey(parseTableName(name));
    if (seenCaptured.has(k)) v.report(['source', 'tables', i], `table ${k} is listed twice in "source.tables"`);
    seenCaptured.add(k);
  });
  const sinkNames = new Set<string>();
  (Array.isArray(cfg.sinks) ? cfg.sinks : []).forEach((sink, si) => {
    if (!sink || typeof sink !== 'object') return;
    if (typeof sink.name === 'string') {
      if (sinkNames.has(sink.name)) v.report(['sinks', si, 'name'], `sink name "${sink.name}" is used twice`);
      sinkNames.add(sink.name);
    }
    const targets = new Set<string>();
    (Array.isArray(sink.tables) ? sink.tables : []).forEach((m, mi) => {
      if (!m || typeof m !== 'object') return;
      if (typeof m.from === 'string' && captured.size > 0 && !captured.has(tableKey(parseTableName(m.from)))) {
        v.report(['sinks', si, 'tables', mi, 'from'], `"${m.from}" is not one of the captured tables in "source.tables" (${[...captured].join(', ')})`);
      }
      if (typeof m.to === 'string') {
        const k = tableKey(parseTableName(m.to));
        if (targets.has(k)) v.report(['sinks', si, 'tables', mi, 'to'], `sink table ${k} is the target of two mappings`);
        targets.add(k);
      }
      if (m.columns && typeof m.columns === 'object') {
        const outs = new Set<string>();
        for (const [from, to] of Object.entries(m.columns)) {
          if (typeof to !== 'string') continue;
          if (outs.has(to)) v.report(['sinks', si, 'tables', mi, 'columns', from], `sink column "${to}" is the target of two source columns`);
          outs.add(to);
        }
      }
    });
  });
};

/** Compiles a validated file into the immutable model (defaults applied, names split). */
export function compileCdcConfig(cfg: CdcConfigFile, file: string): CdcModel {
  const t = cfg.transport;
  const transport: CdcModel['transport'] =
    t.kind === 'redis' ? { kind: 'redis', url: t.url as string, maxLen: t.maxLen ?? null }
    : t.kind === 'kafka' ? { kind: 'kafka', brokers: [...(t.brokers ?? [])], clientId: t.clientId ?? CDC_DEFAULTS.kafkaClientId }
    : { kind: 'direct' };
  const sinks: SinkModel[] = cfg.sinks.map((sink, si) => ({
    name: sink.name,
    url: sink.url,
    at: ['sinks', si],
    retry: {
      retries: sink.retry?.retries ?? CDC_DEFAULTS.retry.retries,
      initialMs: parseDuration(sink.retry?.initial ?? CDC_DEFAULTS.retry.initialMs) ?? CDC_DEFAULTS.retry.initialMs,
      maxMs: parseDuration(sink.retry?.max ?? CDC_DEFAULTS.retry.maxMs) ?? CDC_DEFAULTS.retry.maxMs,
      factor: CDC_DEFAULTS.retry.factor,
    },
    tables: sink.tables.map((m, mi): TableMapping => ({
      from: parseTableName(m.from),
      to: parseTableName(m.to),
      columns: m.columns ? Object.entries(m.columns).map(([from, to]) => ({ from, to })) : [],
      keyColumns: [],
      at: ['sinks', si, 'tables', mi],
    })),
  }));
  const model: CdcModel = {
    file,
    source: {
      url: cfg.source.url,
      slot: cfg.source.slot,
      publication: cfg.source.publication,
      tables: cfg.source.tables.map(parseTableName),
      snapshot: cfg.source.snapshot ?? CDC_DEFAULTS.snapshot,
      heartbeatMs: parseDuration(cfg.source.heartbeat ?? CDC_DEFAULTS.heartbeatMs) ?? CDC_DEFAULTS.heartbeatMs,
      tombstones: cfg.source.tombstones ?? CDC_DEFAULTS.tombstones,
      batchSize: cfg.source.batchSize ?? CDC_DEFAULTS.batchSize,
      snapshotBatchSize: cfg.source.snapshotBatchSize ?? CDC_DEFAULTS.snapshotBatchSize,
      snapshotBatchBytes: cfg.source.snapshotBatchBytes ?? CDC_DEFAULTS.snapshotBatchBytes,
    },
    topicPrefix: cfg.topicPrefix,
    transport,
    sinks,
  };
  return deepFreeze(model);
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

export type CdcLoaded =
  | { readonly ok: true; readonly model: CdcModel; readonly locate: Locator }
  | { readonly ok: false; readonly problems: Extract<Loaded<unknown>, { ok: false }>['problems'] };

function finish(loaded: Loaded<CdcConfigFile>, file: string): CdcLoaded {
  if (!loaded.ok) return loaded;
  return { ok: true, model: compileCdcConfig(loaded.value, file), locate: loaded.source.locate };
}

/** Validates CDC config text (schema + cross-field checks); every problem located. */
export function parseCdcConfig(text: string, file: string): CdcLoaded {
  return finish(validateYaml<CdcConfigFile>(text, file, cdcConfigSchema, checkCdcConfig), file);
}

export async function loadCdcConfig(file: string): Promise<CdcLoaded> {
  return finish(await loadYamlFile<CdcConfigFile>(file, cdcConfigSchema, checkCdcConfig), file);
}
