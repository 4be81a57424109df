/**
 * A bounded queue in front of a bounded number of concurrent tasks. `tryRun` never waits: it
 * starts the task, queues it, or refuses it when the queue is full (the caller counts a drop).
 * Tasks must not reject; a rejection is a bug and is reported through `onBug`.
 */
export class BoundedExecutor {
  private readonly queue: (() => Promise<void>)[] = [];
  private head = 0;
  private running = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly queueSize: number,
    private readonly concurrency: number,
    private readonly onBug: (err: unknown) => void = () => {},
  ) {}

  /** Tasks waiting for a slot. */
  get depth(): number {
    return this.queue.length - this.head;
  }

  get inFlight(): number {
    return this.running;
  }

  tryRun(task: () => Promise<void>): boolean {
    if (this.running < this.concurrency) {
      this.start(task);
      return true;
    }
    if (this.depth >= this.queueSize) return false;
    this.queue.push(task);
    return true;
  }

  /** Resolves when nothing is queued or running (tests, graceful shutdown). */
  idle(): Promise<void> {
    if (this.running === 0 && this.depth === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Bound once: a task's settlement costs one `then`, no closures per task. */
  private readonly taskDone = (): void => {
    this.running--;
    this.next();
  };

  private readonly taskFailed = (err: unknown): void => {
    this.onBug(err);
    this.taskDone();
  };

  private start(task: () => Promise<void>): void {
    this.running++;
    let p: Promise<void>;
    try {
      p = task();
    } catch (err) {
      this.taskFailed(err);
      return;
    }
    p.then(this.taskDone, this.taskFailed);
  }

  private next(): void {
    while (this.running < this.concurrency && this.depth > 0) {
      const task = this.queue[this.head];
      this.queue[this.head++] = undefined as unknown as () => Promise<void>;
      // Compact now and then so the array does not grow without bound.
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      this.start(task);
    }
    if (this.running === 0 && this.depth === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}
