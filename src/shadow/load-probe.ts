import { performance } from 'node:perf_hooks';

/** How busy this process's event loop is, 0..1. Injected into the dispatcher (tests use a fixed value). */
export interface LoadProbe {
  utilization(): number;
  close(): void;
}

/**
 * Event-loop utilization over the last completed window (Node's ELU: share of time the loop was
 * not idle). Sampled by an unref'd timer, so reading it on the request path costs a field load.
 */
export function createEventLoopProbe(windowMs = 250): LoadProbe {
  let last = performance.eventLoopUtilization();
  let current = 0;
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    current = performance.eventLoopUtilization(now, last).utilization;
    last = now;
  }, windowMs);
  timer.unref();
  return { utilization: () => current, close: () => clearInterval(timer) };
}

/**
 * Load shedding for shadow copies: shed while the probe reads busier than `above` (0..1; 1 never
 * sheds). Without a probe given it makes one over this thread's event loop, and closes it.
 */
export class LoadShedder {
  private readonly probe: LoadProbe | null;
  private readonly owns: boolean;

  constructor(
    private readonly above: number,
    probe?: LoadProbe,
  ) {
    this.owns = probe === undefined && above < 1;
    this.probe = probe ?? (above < 1 ? createEventLoopProbe() : null);
  }

  shed(): boolean {
    return this.probe !== null && this.above < 1 && this.probe.utilization() > this.above;
  }

  close(): void {
    if (this.owns) this.probe?.close();
  }
}
