import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { ficusError } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import { silentLogger } from '../../observability/logger.js';
import type { DiffEntry } from '../compare/diff-entry.js';
import { migrateShadowStore } from './shadow-migrations.js';
import type { ComparisonRecord, DropReason, EndpointSnapshot, FieldStat, MismatchSample, SecondaryRecord, ShadowRecorder, SnapshotFilter } from './shadow-record.js';
import { signatureOf } from './shadow-record.js';
import type { ServiceLabel } from '../shadow-policy.js';
import { StatsAggregate } from './stats-aggregate.js';

export interface PgRecorderOptions {
  /** The caller owns this knex instance (and destroys it). */
  readonly knex: Knex;
  /** Mismatch samples kept per route + endpoint; older rows are deleted on insert (default 50). */
  readonly samplesPerEndpoint?: number;
  /** Buffered results are written this often (default 1000 ms) and on snapshot()/close(). */
  readonly flushIntervalMs?: number;
  readonly logger?: Logger;
}

const n = (v: unknown): number => Number(v ?? 0);

/**
 * Stores shadow results in Postgres through knex. Records are aggregated in memory and flushed
 * in one transaction per interval (counters are additive upserts), so a busy route costs a few
 * statements per second rather than several per request, and recording never waits on I/O.
 */
export class PgRecorder implements ShadowRecorder {
  private readonly knex: Knex;
  private readonly limit: number;
  private readonly log: Logger;
  private pending: StatsAggregate;
  private flushing: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  private constructor(options: PgRecorderOptions) {
    this.knex = options.knex;
    this.limit = options.samplesPerEndpoint ?? 50;
    this.log = (options.logger ?? silentLogger()).child({ component: 'shadow-recorder' });
    this.pending = new StatsAggregate(this.limit);
    this.timer = setInterval(() => void this.flush(), options.flushIntervalMs ?? 1000);
    this.timer.unref();
  }

  /** Runs the shadow migrations, then returns a recorder. */
  static async open(options: PgRecorderOptions): Promise<PgRecorder> {
    await migrateShadowStore(options.knex);
    return new PgRecorder(options);
  }

  recordComparison(r: ComparisonRecord, count = 1): void {
    this.pending.addComparison(r, count);
  }

  recordSecondary(r: SecondaryRecord): void {
    this.pending.addSecondary(r);
  }

  recordDropped(route: string, endpoint: string, roles: ComparisonRecord['roles'], reason: DropReason): void {
    this.pending.addDropped(route, endpoint, roles, reason);
  }

  /** Writes everything buffered so far. Flushes run one after another, never concurrently. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.writeBatch());
    return this.flushing;
  }

  private async writeBatch(): Promise<void> {
    if (this.pending.isEmpty()) return;
    const batch = this.pending;
    this.pending = new StatsAggregate(this.limit);
    try {
      await this.knex.transaction(async (trx) => {
        for (const e of batch.endpoints.values()) {
          const key = { route: e.route, endpoint: e.endpoint };
          // 1. The endpoint and its current roles (a shadow → live flip relabels it).
          const ep = trx('shadow_endpoints').insert({ ...key, primary_label: e.roles.primary, candidate_label: e.roles.candidate, updated_at: trx.fn.now() }).onConflict(['route', 'endpoint']);
          await (e.rolesKnown ? ep.merge(['primary_label', 'candidate_label', 'updated_at']) : ep.ignore());
          // 2. Additive counters, field statistics and signatures.
          if (e.counters.size > 0) {
            await trx('shadow_counters')
              .insert([...e.counters].map(([name, value]) => ({ ...key, name, value })))
              .onConflict(['route', 'endpoint', 'name'])
              .merge({ value: trx.raw('shadow_counters.value + excluded.value') });
          }
          if (e.fields.size > 0) {
            await trx('shadow_fields')
              .insert([...e.fields].map(([field, f]) => ({
                ...key, field, candidate_diffs: f.candidateDiffs, secondary_diffs: f.secondaryDiffs,
                example: f.example === null ? null : JSON.stringify(f.example),
                secondary_example: f.secondaryExample === null ? null : JSON.stringify(f.secondaryExample),
              })))
              .onConflict(['route', 'endpoint', 'field'])
              .merge({
                candidate_diffs: trx.raw('shadow_fields.candidate_diffs + excluded.candidate_diffs'),
                secondary_diffs: trx.raw('shadow_fields.secondary_diffs + excluded.secondary_diffs'),
                example: trx.raw('coalesce(shadow_fields.example, excluded.example)'),
                secondary_example: trx.raw('coalesce(shadow_fields.secondary_example, excluded.secondary_example)'),
              });
          }
          if (e.signatures.size > 0) {
            await trx('shadow_signatures')
              .insert([...e.signatures.values()].map((s) => ({ ...key, signature: hashSignature(s.fields), fields: JSON.stringify(s.fields), count: s.count })))
              .onConflict(['route', 'endpoint', 'signature'])
              .merge({ count: trx.raw('shadow_signatures.count + excluded.count') });
          }
          // 3. Samples, then the retention limit for this route + endpoint.
          if (e.samples.length > 0) {
            await trx('shadow_samples').insert(e.samples.map((s) => ({
              ...key, recorded_at: new Date(s.at), request: JSON.stringify(s.request),
              primary_response: JSON.stringify(s.primary), candidate_response: JSON.stringify(s.candidate), diffs: JSON.stringify(s.diffs),
            })));
            await trx.raw(
              `delete from shadow_samples where route = ? and endpoint = ? and id not in
                 (select id from shadow_samples where route = ? and endpoint = ? order by id desc limit ?)`,
              [e.route, e.endpoint, e.route, e.endpoint, this.limit],
            );
          }
        }
      });
    } catch (err) {
      // Results of this batch are lost; the proxy keeps serving. Logged with a stable code.
      const e = ficusError('FICUS_ERR_SHADOW_RECORD', (err as Error).message);
      this.log.error({ code: e.code, err }, e.message);
    }
  }

  async snapshot(filter: SnapshotFilter = {}): Promise<EndpointSnapshot[]> {
    await this.flush();
    const where = <T extends Knex.QueryBuilder>(q: T): T => (filter.route === undefined ? q : (q.where('route', filter.route) as T));
    const [endpoints, counters, fields, signatures, samples] = await Promise.all([
      where(this.knex('shadow_endpoints').select('*')).orderBy(['route', 'endpoint']),
      where(this.knex('shadow_counters').select('*')),
      where(this.knex('shadow_fields').select('*')),
      where(this.knex('shadow_signatures').select('*')),
      where(this.knex('shadow_samples').select('route', 'endpoint').count({ c: '*' }).groupBy('route', 'endpoint')),
    ]);
    const k = (r: { route: string; endpoint: string }) => `${r.route}\u0000${r.endpoint}`;
    const out = new Map<string, { snap: EndpointSnapshot; counters: Record<string, number>; fields: Record<string, FieldStat>; sigs: { fields: string[]; count: number }[] }>();
    for (const e of endpoints as { route: string; endpoint: string; primary_label: ServiceLabel; candidate_label: ServiceLabel }[]) {
      const c: Record<string, number> = {};
      const f: Record<string, FieldStat> = {};
      const sigs: { fields: string[]; count: number }[] = [];
      const snap: EndpointSnapshot = { route: e.route, endpoint: e.endpoint, roles: { primary: e.primary_label, candidate: e.candidate_label }, counters: c, fields: f, signatures: sigs, samplesStored: 0 };
      out.set(k(e), { snap, counters: c, fields: f, sigs });
    }
    for (const r of counters as { route: string; endpoint: string; name: string; value: string }[]) {
      const o = out.get(k(r));
      if (o) o.counters[r.name] = n(r.value);
    }
    for (const r of fields as { route: string; endpoint: string; field: string; candidate_diffs: string; secondary_diffs: string; example: DiffEntry | null; secondary_example: DiffEntry | null }[]) {
      const o = out.get(k(r));
      if (o) o.fields[r.field] = { candidateDiffs: n(r.candidate_diffs), secondaryDiffs: n(r.secondary_diffs), example: r.example, secondaryExample: r.secondary_example };
    }
    for (const r of signatures as { route: string; endpoint: string; fields: string[]; count: string }[]) {
      out.get(k(r))?.sigs.push({ fields: r.fields, count: n(r.count) });
    }
    const result: EndpointSnapshot[] = [];
    const stored = new Map((samples as unknown as { route: string; endpoint: string; c: string }[]).map((r) => [k(r), n(r.c)]));
    for (const [key, o] of out) result.push({ ...o.snap, samplesStored: stored.get(key) ?? 0 });
    return result;
  }

  async samples(route: string, endpoint: string, limit = 20): Promise<MismatchSample[]> {
    await this.flush();
    const rows = (await this.knex('shadow_samples').where({ route, endpoint }).orderBy('id', 'desc').limit(limit)) as {
      route: string; endpoint: string; recorded_at: Date; request: MismatchSample['request']; primary_response: MismatchSample['primary']; candidate_response: MismatchSample['candidate']; diffs: DiffEntry[];
    }[];
    return rows.map((r) => ({ route: r.route, endpoint: r.endpoint, at: r.recorded_at.getTime(), request: r.request, primary: r.primary_response, candidate: r.candidate_response, diffs: r.diffs }));
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}

function hashSignature(fields: readonly string[]): string {
  return createHash('sha1').update(signatureOf(fields)).digest('hex');
}
