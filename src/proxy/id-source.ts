import { randomFillSync } from 'node:crypto';

/** Trace, span and request ids. Injected so tests can make them predictable. */
export interface IdSource {
  /** 32 lower-case hex characters, never all zero */
  traceId(): string;
  /** 16 lower-case hex characters, never all zero */
  spanId(): string;
}

/**
 * Cryptographically random ids drawn from a refilled pool, so one id costs a slice of a buffer
 * rather than a system call.
 */
export class RandomIdSource implements IdSource {
  private readonly pool = Buffer.allocUnsafe(4096);
  private offset = this.pool.length;

  private take(bytes: number): string {
    if (this.offset + bytes > this.pool.length) {
      randomFillSync(this.pool);
      this.offset = 0;
    }
    const start = this.offset;
    this.offset += bytes;
    const hex = this.pool.toString('hex', start, start + bytes);
    return /^0+$/.test(hex) ? this.take(bytes) : hex;
  }

  traceId(): string {
    return this.take(16);
  }

  spanId(): string {
    return this.take(8);
  }
}
