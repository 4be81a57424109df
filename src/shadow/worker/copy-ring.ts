/**
 * A single-producer, single-consumer ring of byte records in shared memory: the proxy's main thread
 * writes shadow copies into it, the shadow worker reads them out. Handing a copy over is a memory
 * copy and one atomic store: no message, no system call, no object for the other thread's heap.
 *
 * Records start on 8-byte boundaries with their length as a u32; a record that does not fit before
 * the end leaves a WRAP mark and starts again at 0. Positions: the writer publishes W after a record
 * is complete, the reader publishes R once it has copied a record out. W === R means empty; the
 * writer never lets W reach R from behind (one byte stays free), so full is never mistaken for empty.
 *
 * The control block also carries a wake-up protocol: SEQ counts commits; a reader about to wait
 * says how in SLEEPING and waits on SEQ (Atomics.waitAsync), so a commit between the reader's last
 * look and its wait is never missed. A reader that polls (POLLING: it wakes on its own timer) is
 * notified only once a quarter of the ring is used; one that sleeps (ASLEEP) on every commit. A
 * notify wakes the other thread from the writer's thread, a system call and, in a virtual machine,
 * an interrupt sent between CPUs, which is why the reader polls while copies keep coming.
 */
/**
 * Control words, as Int32Array indices. What each thread writes sits on its own 64-byte cache line
 * (W and SEQ the writer's, R the reader's, SLEEPING apart), so one thread's stores do not take the
 * line the other thread is reading on every copy.
 */
export const CTRL = Object.freeze({ W: 0, SEQ: 1, R: 16, SLEEPING: 32 });
const AWAKE = 0;
const ASLEEP = 1;
const POLLING = 2;
const CTRL_SLOTS = 48;
const WRAP = 0xffffffff;
const ALIGN = 8;

export interface RingMemory {
  readonly data: SharedArrayBuffer;
  readonly ctrl: SharedArrayBuffer;
}

/** Shared memory for a ring of `bytes` (rounded up to a multiple of 8, at least 64 KiB). */
export function allocateRing(bytes: number): RingMemory {
  const size = Math.max(64 * 1024, Math.ceil(bytes / ALIGN) * ALIGN);
  return { data: new SharedArrayBuffer(size), ctrl: new SharedArrayBuffer(CTRL_SLOTS * 4) };
}

const align = (n: number): number => (n + ALIGN - 1) & ~(ALIGN - 1);

export class RingWriter {
  /** Where records are written; a Buffer over the shared memory. */
  readonly buf: Buffer;
  private readonly ctrl: Int32Array;
  private readonly cap: number;
  private w = 0;
  /** The reader's position as last read: it only moves forward, so a stale value only understates the room. */
  private r = 0;

  constructor(memory: RingMemory) {
    this.buf = Buffer.from(memory.data);
    this.ctrl = new Int32Array(memory.ctrl);
    this.cap = memory.data.byteLength;
    this.w = Atomics.load(this.ctrl, CTRL.W);
    this.r = Atomics.load(this.ctrl, CTRL.R);
  }

  /**
   * Where a record of at most `bound` bytes can be written contiguously, or -1 when the reader has
   * not yet freed that much. The record's first 4 bytes are its length, written by commit().
   */
  reserve(bound: number): number {
    const need = align(bound);
    const at = this.place(need, this.r);
    if (at >= 0) return at;
    // The reader may have moved on since R was last read.
    this.r = Atomics.load(this.ctrl, CTRL.R);
    return this.place(need, this.r);
  }

  private place(need: number, r: number): number {
    const w = this.w;
    if (w >= r) {
      if (need < this.cap - w) return w;
      // Not enough room before the end: wrap, if the start has room (strictly below R).
      if (need >= r) return -1;
      this.buf.writeUInt32LE(WRAP, w);
      this.w = 0;
      return 0;
    }
    return w + need < r ? w : -1;
  }

  /** Publishes the record written at `start` (from reserve) that ends at `end`. */
  commit(start: number, end: number): void {
    this.buf.writeUInt32LE(end - start, start);
    this.w = align(end);
    Atomics.store(this.ctrl, CTRL.W, this.w);
    Atomics.add(this.ctrl, CTRL.SEQ, 1);
    const sleeping = Atomics.load(this.ctrl, CTRL.SLEEPING);
    if (sleeping === ASLEEP || (sleeping === POLLING && this.moreThanAQuarterUsed())) Atomics.notify(this.ctrl, CTRL.SEQ);
  }

  /** Reads R again only when the last value read says a quarter of the ring is in use. */
  private moreThanAQuarterUsed(): boolean {
    if (this.used(this.r) <= this.cap / 4) return false;
    this.r = Atomics.load(this.ctrl, CTRL.R);
    return this.used(this.r) > this.cap / 4;
  }

  /** Bytes written and not yet freed by a reader at `r`. */
  private used(r: number): number {
    return this.w >= r ? this.w - r : this.cap - r + this.w;
  }

  /** The writer's position after a restart of the reader: the ring starts empty again. */
  reset(): void {
    this.w = 0;
    this.r = 0;
    Atomics.store(this.ctrl, CTRL.W, 0);
    Atomics.store(this.ctrl, CTRL.R, 0);
    Atomics.store(this.ctrl, CTRL.SLEEPING, AWAKE);
  }
}

export class RingReader {
  readonly buf: Buffer;
  private readonly ctrl: Int32Array;
  private r: number;

  constructor(memory: RingMemory) {
    this.buf = Buffer.from(memory.data);
    this.ctrl = new Int32Array(memory.ctrl);
    this.r = Atomics.load(this.ctrl, CTRL.R);
  }

  /**
   * Calls `each(start, end)` for every complete record (bytes after the 4-byte length), in order,
   * and frees each once `each` returns: `each` must copy out what it keeps. `each` returns false to
   * stop before that record, leaving it for the next read. Returns how many records it consumed.
   */
  read(each: (start: number, end: number) => boolean): number {
    let n = 0;
    let w = Atomics.load(this.ctrl, CTRL.W);
    while (this.r !== w) {
      const len = this.buf.readUInt32LE(this.r);
      if (len === WRAP) {
        this.r = 0;
        continue;
      }
      if (!each(this.r + 4, this.r + len)) break;
      this.r = align(this.r + len);
      Atomics.store(this.ctrl, CTRL.R, this.r);
      n++;
      w = Atomics.load(this.ctrl, CTRL.W);
    }
    return n;
  }

  /**
   * Waits for records: at most `pollMs` (the writer notifies only when a quarter of the ring is
   * used), or with `pollMs` null until the writer's next commit notifies. Resolves at once when a
   * record is already there.
   */
  async wait(pollMs: number | null): Promise<void> {
    const seq = Atomics.load(this.ctrl, CTRL.SEQ);
    Atomics.store(this.ctrl, CTRL.SLEEPING, pollMs === null ? ASLEEP : POLLING);
    try {
      if (Atomics.load(this.ctrl, CTRL.W) !== this.r) return;
      const waited = pollMs === null ? Atomics.waitAsync(this.ctrl, CTRL.SEQ, seq) : Atomics.waitAsync(this.ctrl, CTRL.SEQ, seq, pollMs);
      if (waited.async) await waited.value;
    } finally {
      Atomics.store(this.ctrl, CTRL.SLEEPING, AWAKE);
    }
  }

  /** Wakes a wait() from this thread (shutdown, or a message that needs the reader). */
  wake(): void {
    Atomics.add(this.ctrl, CTRL.SEQ, 1);
    Atomics.notify(this.ctrl, CTRL.SEQ);
  }
}
