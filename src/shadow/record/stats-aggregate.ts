import type { ComparisonRecord, DropReason, EndpointSnapshot, FieldStat, MismatchSample, SecondaryRecord } from './shadow-record.js';
import { COUNTER, MAX_SIGNATURES, OTHER_SIGNATURE, fieldsOf, signatureOf } from './shadow-record.js';

export interface EndpointAggregate {
  readonly route: string;
  readonly endpoint: string;
  roles: ComparisonRecord['roles'];
  /** False while only secondary records were seen (the roles are then a default). */
  rolesKnown: boolean;
  readonly counters: Map<string, number>;
  readonly fields: Map<string, FieldStat>;
  readonly signatures: Map<string, { fields: string[]; count: number }>;
  /** Newest last. */
  readonly samples: MismatchSample[];
}

/**
 * Counters, field statistics and signatures per route + endpoint. The in-memory recorder keeps
 * one for ever (bounded by routes x endpoints x fields); the Postgres recorder uses one as the
 * buffer of deltas it flushes in a single transaction.
 */
export class StatsAggregate {
  readonly endpoints = new Map<string, EndpointAggregate>();
  constructor(private readonly sampleLimit: number) {}

  private at(route: string, endpoint: string, roles: ComparisonRecord['roles'] | null): EndpointAggregate {
    const k = `${route}\u0000${endpoint}`;
    let e = this.endpoints.get(k);
    if (!e) {
      e = { route, endpoint, roles: roles ?? { primary: 'legacy', candidate: 'new' }, rolesKnown: roles !== null, counters: new Map(), fields: new Map(), signatures: new Map(), samples: [] };
      this.endpoints.set(k, e);
    } else if (roles) {
      // A flip from shadow to live mode shows in the report's labels from the next record on.
      e.roles = roles;
      e.rolesKnown = true;
    }
    return e;
  }

  private field(e: EndpointAggregate, name: string): FieldStat {
    let f = e.fields.get(name);
    if (!f) {
      f = { candidateDiffs: 0, secondaryDiffs: 0, example: null, secondaryExample: null };
      e.fields.set(name, f);
    }
    return f;
  }

  static bump(counters: Map<string, number>, name: string, by = 1): void {
    counters.set(name, (counters.get(name) ?? 0) + by);
  }

  /** Adds `count` comparisons with r's outcome (see ShadowRecorder.recordComparison). */
  addComparison(r: ComparisonRecord, count = 1): void {
    const e = this.at(r.route, r.endpoint, r.roles);
    const o = r.outcome;
    if (o.kind === 'error') return StatsAggregate.bump(e.counters, COUNTER.error(o.reason), count);
    if (o.kind === 'skipped') return StatsAggregate.bump(e.counters, COUNTER.skipped(o.reason), count);
    StatsAggregate.bump(e.counters, COUNTER.compared, count);
    if (o.diffs.length === 0) return StatsAggregate.bump(e.counters, COUNTER.matched, count);
    const { fields, examples } = fieldsOf(o.diffs);
    for (const [name, ex] of examples) {
      const f = this.field(e, name);
      f.candidateDiffs += count;
      if (f.example === null) f.example = ex;
    }
    let sig = signatureOf(fields);
    if (!e.signatures.has(sig) && e.signatures.size >= MAX_SIGNATURES) sig = OTHER_SIGNATURE;
    const s = e.signatures.get(sig);
    if (s) s.count += count;
    else e.signatures.set(sig, { fields: sig === OTHER_SIGNATURE ? [OTHER_SIGNATURE] : fields, count });
    if (r.sample) {
      e.samples.push(r.sample);
      if (e.samples.length > this.sampleLimit) e.samples.splice(0, e.samples.length - this.sampleLimit);
    }
  }

  addSecondary(r: SecondaryRecord): void {
    const e = this.at(r.route, r.endpoint, null);
    StatsAggregate.bump(e.counters, COUNTER.secondary);
    const { examples } = fieldsOf(r.diffs);
    for (const [name, ex] of examples) {
      const f = this.field(e, name);
      f.secondaryDiffs++;
      if (f.secondaryExample === null) f.secondaryExample = ex;
    }
  }

  addDropped(route: string, endpoint: string, roles: ComparisonRecord['roles'], reason: DropReason): void {
    StatsAggregate.bump(this.at(route, endpoint, roles).counters, COUNTER.dropped(reason));
  }

  isEmpty(): boolean {
    return this.endpoints.size === 0;
  }

  snapshot(route?: string): EndpointSnapshot[] {
    const out: EndpointSnapshot[] = [];
    for (const e of this.endpoints.values()) {
      if (route !== undefined && e.route !== route) continue;
      out.push({
        route: e.route,
        endpoint: e.endpoint,
        roles: { ...e.roles },
        counters: Object.fromEntries(e.counters),
        fields: Object.fromEntries([...e.fields].map(([k, v]) => [k, { ...v }])),
        signatures: [...e.signatures.values()].map((s) => ({ fields: [...s.fields], count: s.count })),
        samplesStored: e.samples.length,
      });
    }
    return out;
  }
}
