import type { Clock } from '../util/clock.js';
import type { ListLinks } from '../util/intrusive-list.js';
import { IntrusiveList } from '../util/intrusive-list.js';

/** Which wait a deadline bounds: the upstream's response headers, or the gap between body chunks. */
export type DeadlineKind = 'headers' | 'body';

/**
 * What the deadlines keep per exchange: its own fields and list links (owned by UpstreamDeadlines,
 * null while not armed), so arming and refreshing allocate nothing.
 */
export interface DeadlineEntry extends ListLinks<DeadlineEntry> {
  /** Monotonic ms past which the exchange has waited too long. */
  deadlineAt: number;
  deadlineKind: DeadlineKind;
  /** Called once, after the entry was disarmed, when its deadline passed. */
  onDeadline(kind: DeadlineKind): void;
}

/** How often armed deadlines are checked; a deadline fires at most this late. */
export const DEADLINE_TICK_MS = 50;

/**
 * The forwarder's upstream timeouts (`headersTimeout`, `bodyTimeout`), kept here instead of by
 * undici. undici keeps each such timer in an array it sweeps twice a second, so most of them,
 * one or more per request, outlived a scavenge and were promoted, and the proxy's heap needed a
 * mark-compact every 10-20 s under load (README "Performance"). Here a deadline is two numbers
 * on the exchange and a place in an IntrusiveList; one interval, running only while some
 * deadline is armed, checks them every DEADLINE_TICK_MS on the injected clock.
 */
export class UpstreamDeadlines {
  private readonly armed = new IntrusiveList<DeadlineEntry>();
  private timer: ReturnType<typeof setInterval> | null = null;

  /** `onBug` hears of an `onDeadline` that threw; the other entries are still checked. */
  constructor(
    private readonly clock: Clock,
    private readonly onBug: (err: unknown) => void = () => {},
  ) {}

  /**
   * (Re)arms `e` to fire `ms` from now; an armed entry keeps its place and gets the new deadline.
   * `ms` 0 means no deadline (a timeout of 0 turns it off, as it did in undici): `e` is disarmed.
   */
  arm(e: DeadlineEntry, kind: DeadlineKind, ms: number): void {
    if (!(ms > 0)) {
      this.disarm(e);
      return;
    }
    e.deadlineAt = this.clock.monotonic() + ms;
    e.deadlineKind = kind;
    this.armed.add(e);
    if (this.timer === null) {
      this.timer = setInterval(sweep, DEADLINE_TICK_MS, this);
      this.timer.unref();
    }
  }

  /** Pushes an armed entry's deadline `ms` from now (a body chunk came); a disarmed one stays so. */
  refresh(e: DeadlineEntry, ms: number): void {
    if (this.armed.has(e)) e.deadlineAt = this.clock.monotonic() + ms;
  }

  disarm(e: DeadlineEntry): void {
    this.armed.remove(e);
  }

  /** Fires every entry past its deadline; stops the interval once nothing is armed. */
  sweep(): void {
    const now = this.clock.monotonic();
    let e = this.armed.first;
    while (e !== null) {
      const next = e.listNext;
      if (e.deadlineAt <= now) {
        this.disarm(e);
        try {
          e.onDeadline(e.deadlineKind);
        } catch (err) {
          this.onBug(err);
        }
      }
      e = next;
    }
    if (this.armed.size === 0) this.stop();
  }

  /** Stops checking (server shutdown); armed entries stay armed. */
  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}

function sweep(d: UpstreamDeadlines): void {
  d.sweep();
}
