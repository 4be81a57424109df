import type { DiffEntry } from '../compare/diff-entry.js';
import type { ServiceLabel } from '../shadow-policy.js';

/** What happened to one shadow copy, as the recorder stores it (already redacted). */
export type ShadowOutcome =
  | { readonly kind: 'compared'; readonly diffs: readonly DiffEntry[] }
  | { readonly kind: 'error'; readonly reason: CandidateFailure }
  | { readonly kind: 'skipped'; readonly reason: SkipReason };

/** The outcome of every matching copy: one frozen value, not an object per copy. */
export const MATCHED: ShadowOutcome = Object.freeze({ kind: 'compared', diffs: Object.freeze([]) as readonly never[] }) as ShadowOutcome;

/** Expected candidate failures, as values (timeouts, refused connections...). */
export type CandidateFailure = 'timeout' | 'refused' | 'reset' | 'unreachable';
export type SkipReason = 'too-large';
/**
 * `queue-full`: the route's queue was full; `overload`: shed because the event loop was saturated;
 * `worker-failed`: handed to the shadow worker thread, which ended before it recorded a result.
 */
export type DropReason = 'queue-full' | 'overload' | 'worker-failed';

export interface StoredMessage {
  readonly status: number | null;
  readonly headers: Readonly<Record<string, string>>;
  /** Truncated, redacted text; binary bodies are described, not stored. */
  readonly body: string;
}

/** One mismatch as kept for humans: request summary, both responses, the diff. */
export interface MismatchSample {
  readonly route: string;
  readonly endpoint: string;
  readonly at: number;
  readonly request: { readonly method: string; readonly path: string; readonly headers: Readonly<Record<string, string>>; readonly body: string };
  readonly primary: StoredMessage;
  readonly candidate: StoredMessage;
  readonly diffs: readonly DiffEntry[];
}

export interface ComparisonRecord {
  readonly route: string;
  readonly endpoint: string;
  readonly roles: { readonly primary: ServiceLabel; readonly candidate: ServiceLabel };
  readonly at: number;
  readonly outcome: ShadowOutcome;
  /** Present for mismatches only. */
  readonly sample: MismatchSample | null;
}

/** A legacy-vs-legacy (or new-vs-new) comparison that teaches the noise model. */
export interface SecondaryRecord {
  readonly route: string;
  readonly endpoint: string;
  readonly at: number;
  readonly diffs: readonly DiffEntry[];
}

export interface FieldStat {
  candidateDiffs: number;
  secondaryDiffs: number;
  /** One example each (the first seen), redacted. */
  example: DiffEntry | null;
  secondaryExample: DiffEntry | null;
}

/** Everything the report needs about one route + endpoint. Plain data, JSON-safe. */
export interface EndpointSnapshot {
  readonly route: string;
  readonly endpoint: string;
  readonly roles: { readonly primary: ServiceLabel; readonly candidate: ServiceLabel };
  /** `compared`, `matched`, `secondary`, `dropped:<reason>`, `error:<reason>`, `skipped:<reason>`. */
  readonly counters: Readonly<Record<string, number>>;
  readonly fields: Readonly<Record<string, FieldStat>>;
  /** How many mismatches had exactly this set of differing fields (noise-adjusted matching). */
  readonly signatures: readonly { readonly fields: readonly string[]; readonly count: number }[];
  readonly samplesStored: number;
}

export interface SnapshotFilter {
  readonly route?: string;
}

/**
 * Where shadow results go. Implementations: in-memory (no database configured) and knex/Postgres.
 * Record calls never throw and never block the caller on I/O.
 */
export interface ShadowRecorder {
  /**
   * `count`: how many comparisons with this same outcome the record stands for (default 1); the
   * shadow worker sends a run of matches as one record. A sample is kept once, however large.
   */
  recordComparison(r: ComparisonRecord, count?: number): void;
  recordSecondary(r: SecondaryRecord): void;
  recordDropped(route: string, endpoint: string, roles: ComparisonRecord['roles'], reason: DropReason): void;
  snapshot(filter?: SnapshotFilter): Promise<EndpointSnapshot[]>;
  samples(route: string, endpoint: string, limit?: number): Promise<MismatchSample[]>;
  close(): Promise<void>;
}

/** The recording half of a recorder: all the shadow engine writes to. */
export type RecordSink = Pick<ShadowRecorder, 'recordComparison' | 'recordSecondary' | 'recordDropped'>;

export const COUNTER = Object.freeze({
  compared: 'compared',
  matched: 'matched',
  secondary: 'secondary',
  dropped: (r: DropReason) => `dropped:${r}`,
  error: (r: CandidateFailure) => `error:${r}`,
  skipped: (r: SkipReason) => `skipped:${r}`,
});

/** Mismatched-field signatures kept per endpoint; the rest count as "other" (never noise). */
export const MAX_SIGNATURES = 500;
export const OTHER_SIGNATURE = '\u0000other';

/** The distinct fields of a diff list, sorted, and the first example of each. */
export function fieldsOf(diffs: readonly DiffEntry[]): { fields: string[]; examples: Map<string, DiffEntry> } {
  const examples = new Map<string, DiffEntry>();
  for (const d of diffs) if (!examples.has(d.field)) examples.set(d.field, d);
  return { fields: [...examples.keys()].sort(), examples };
}

export function signatureOf(fields: readonly string[]): string {
  return fields.join('\n');
}
