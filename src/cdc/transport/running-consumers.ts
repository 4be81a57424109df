import type { Consumer } from './transport.js';

/** A broker transport's started consumers: each one's `stop`, and all of them at `close`. */
export class RunningConsumers<C extends { stop(): Promise<void> }> {
  private readonly all = new Set<C>();

  /** Tracks a started consumer; the handle's `stop` stops it and forgets it. */
  add(consumer: C): Consumer {
    this.all.add(consumer);
    return {
      stop: async () => {
        this.all.delete(consumer);
        await consumer.stop();
      },
    };
  }

  async stopAll(): Promise<void> {
    const all = [...this.all];
    this.all.clear();
    await Promise.all(all.map((c) => c.stop()));
  }
}
