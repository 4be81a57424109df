import { describe, expect, it } from 'vitest';
import { CTRL, RingReader, RingWriter, allocateRing } from '../../../../src/shadow/worker/copy-ring.js';

/** Writes `payload` as one record; false when the ring has no room. */
function put(w: RingWriter, payload: Buffer): boolean {
  const start = w.reserve(4 + payload.length);
  if (start < 0) return false;
  payload.copy(w.buf, start + 4);
  w.commit(start, start + 4 + payload.length);
  return true;
}

function takeAll(r: RingReader): Buffer[] {
  const out: Buffer[] = [];
  r.read((start, end) => {
    out.push(Buffer.from(r.buf.subarray(start, end)));
    return true;
  });
  return out;
}

/** A payload whose bytes say which record it is, so a torn or overwritten record shows. */
const payloadOf = (i: number, size: number): Buffer => Buffer.alloc(size, i % 251);

describe('copy ring', () => {
  it('hands records over in order, across many wrap-arounds, none torn or overwritten', () => {
    const mem = allocateRing(64 * 1024);
    const w = new RingWriter(mem);
    const r = new RingReader(mem);
    let written = 0;
    let read = 0;
    // Sizes that never divide the ring evenly, so records wrap at every possible offset.
    const sizeOf = (i: number) => 1 + ((i * 7919) % 9000);
    for (let round = 0; round < 200; round++) {
      while (put(w, payloadOf(written, sizeOf(written)))) written++;
      for (const got of takeAll(r)) {
        expect(got.equals(payloadOf(read, sizeOf(read)))).toBe(true);
        read++;
      }
      expect(read).toBe(written);
    }
    expect(written).toBeGreaterThan(1000);
  });

  it('refuses a record while the reader has not freed the room, then takes it once it has', () => {
    const mem = allocateRing(64 * 1024);
    const w = new RingWriter(mem);
    const r = new RingReader(mem);
    let n = 0;
    while (put(w, payloadOf(n, 1000))) n++;
    // Full: one byte short of the reader never counts as room (W must not reach R).
    expect(n).toBeGreaterThan(50);
    expect(put(w, payloadOf(n, 1000))).toBe(false);
    let taken = 0;
    r.read(() => ++taken <= 3);
    expect(taken).toBe(4); // three taken, the fourth left in place
    expect(put(w, payloadOf(n, 1000))).toBe(true);
    const rest = takeAll(r);
    expect(rest).toHaveLength(n + 1 - 3);
    expect(rest[0].equals(payloadOf(3, 1000))).toBe(true);
    expect(rest.at(-1)!.equals(payloadOf(n, 1000))).toBe(true);
  });

  it('refuses a record larger than the ring', () => {
    const mem = allocateRing(64 * 1024);
    expect(put(new RingWriter(mem), Buffer.alloc(64 * 1024))).toBe(false);
  });

  it('wakes a sleeping reader on a commit', async () => {
    const mem = allocateRing(64 * 1024);
    const w = new RingWriter(mem);
    const r = new RingReader(mem);
    const woke = r.wait(null);
    put(w, payloadOf(1, 10));
    await woke;
    expect(takeAll(r)).toHaveLength(1);
  });

  it('returns at once when a record is already there', async () => {
    const mem = allocateRing(64 * 1024);
    const w = new RingWriter(mem);
    const r = new RingReader(mem);
    put(w, payloadOf(1, 10));
    // A wait of an hour that resolves means it never waited.
    await r.wait(3_600_000);
  });

  it('lets a polling reader sleep through small commits, and wakes it once a quarter of the ring is used', async () => {
    const mem = allocateRing(64 * 1024);
    const w = new RingWriter(mem);
    const r = new RingReader(mem);
    const seq = () => Atomics.load(new Int32Array(mem.ctrl), CTRL.SEQ);
    const before = seq();
    let woke = false;
    const waiting = r.wait(3_600_000).then(() => {
      woke = true;
    });
    put(w, payloadOf(1, 100));
    // Let any notification that was sent arrive: a setImmediate turn runs after posted tasks.
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(seq()).toBe(before + 1);
    expect(woke).toBe(false);
    while (!woke) {
      put(w, payloadOf(2, 1000));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await waiting;
    const used = takeAll(r).reduce((a, b) => a + b.length, 0);
    expect(used).toBeGreaterThan(16 * 1024);
    expect(used).toBeLessThan(20 * 1024);
  });
});
