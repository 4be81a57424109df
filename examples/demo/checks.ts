/**
 * The demo's checks: every step states what it expected, and `--once` exits non-zero when any
 * failed. Kept as data so the final summary line (for the end-to-end test) lists them all.
 */
export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export class Checks {
  private readonly results: CheckResult[] = [];

  /** Records a check and returns its outcome, so callers can print a mark next to the step. */
  check(name: string, ok: boolean, detail: string): boolean {
    this.results.push({ name, ok, detail });
    return ok;
  }

  get all(): readonly CheckResult[] {
    return this.results;
  }

  get failed(): readonly CheckResult[] {
    return this.results.filter((r) => !r.ok);
  }

  get ok(): boolean {
    return this.results.length > 0 && this.failed.length === 0;
  }
}

/** `ok` or `FAIL (what was expected)`, for the end of a printed line. */
export function mark(ok: boolean, expectation: string): string {
  return ok ? 'ok' : `FAIL (expected ${expectation})`;
}

export function pct(x: number | null): string {
  return x === null ? '-' : `${(x * 100).toFixed(1)}%`;
}
