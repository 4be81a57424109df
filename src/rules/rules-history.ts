/**
 * The good versions of the rules this process has served, newest last. A rollback restores the
 * version before the current one.
 */
export interface RulesVersion {
  readonly version: string;
  readonly hash: string;
  readonly loadedAt: string;
  readonly text: string;
}

export class RulesHistory {
  private readonly versions: RulesVersion[] = [];
  constructor(private readonly limit = 20) {}

  record(v: RulesVersion): void {
    this.versions.push(v);
    if (this.versions.length > this.limit) this.versions.shift();
  }

  get current(): RulesVersion | null {
    return this.versions[this.versions.length - 1] ?? null;
  }

  /** The last good version before the current one, or null. */
  get previous(): RulesVersion | null {
    return this.versions[this.versions.length - 2] ?? null;
  }

  list(): readonly RulesVersion[] {
    return this.versions;
  }
}
