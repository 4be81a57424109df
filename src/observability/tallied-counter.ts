import { Counter } from 'prom-client';
import type { Registry } from 'prom-client';

/** One label combination of a TalliedCounter: the hot path adds to `n`. */
export interface Tally {
  n: number;
}

interface Cell extends Tally {
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * A Prometheus counter for hot paths. prom-client hashes the label values on every `inc()`, even
 * through a `labels()` child (a string built per call); here each label combination is a cell
 * resolved once, an increment is `cell.n++`, and the tallies are added to the counter when it is
 * collected (every scrape and every `get()`), so readers never see a stale value.
 */
export class TalliedCounter {
  /** The prom-client counter the registry reads; only its collect hook writes to it. */
  readonly counter: Counter;
  private readonly cells = new Map<string, Cell>();

  constructor(o: { name: string; help: string; labelNames: readonly string[]; registry: Registry }) {
    const cells = this.cells;
    this.counter = new Counter({
      name: o.name,
      help: o.help,
      labelNames: o.labelNames,
      registers: [o.registry],
      collect() {
        for (const cell of cells.values()) {
          if (cell.n === 0) continue;
          this.inc(cell.labels, cell.n);
          cell.n = 0;
        }
      },
    });
  }

  /** The cell for these label values (created on first use; keep it to skip this lookup). */
  cell(labels: Readonly<Record<string, string>>): Tally {
    const key = Object.keys(labels)
      .sort()
      .map((k) => `${k}\u0000${labels[k]}`)
      .join('\u0001');
    let cell = this.cells.get(key);
    if (cell === undefined) {
      cell = { labels: { ...labels }, n: 0 };
      this.cells.set(key, cell);
    }
    return cell;
  }
}
