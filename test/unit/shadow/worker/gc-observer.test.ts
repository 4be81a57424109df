import { constants } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import type { GcKind } from '../../../../src/shadow/shadow-metrics.js';
import { gcKindOf, observeGc } from '../../../../src/shadow/worker/gc-observer.js';

describe('gc observer', () => {
  it("names Node's gc entry kinds and nothing else", () => {
    expect(gcKindOf(constants.NODE_PERFORMANCE_GC_MINOR)).toBe('minor');
    expect(gcKindOf(constants.NODE_PERFORMANCE_GC_MAJOR)).toBe('major');
    expect(gcKindOf(constants.NODE_PERFORMANCE_GC_INCREMENTAL)).toBe('incremental');
    expect(gcKindOf(constants.NODE_PERFORMANCE_GC_WEAKCB)).toBe('weakcb');
    expect(gcKindOf(-1)).toBeNull();
  });

  it('reports the scavenges that garbage on this thread causes, with their pause, until stopped', async () => {
    const seen: { kind: GcKind; seconds: number }[] = [];
    const stop = observeGc((kind, seconds) => seen.push({ kind, seconds }));
    // ~80 MB of short-lived objects, more than any young generation holds; each is stored for a
    // moment, so the compiler cannot optimize the allocation away.
    const recent: unknown[] = new Array(1024);
    const churn = () => {
      for (let i = 0; i < 1_000_000; i++) recent[i & 1023] = { i, pair: [i, i + 1] };
    };
    churn();
    // Entries are delivered after the pause, on a later turn.
    for (let i = 0; i < 100 && !seen.some((s) => s.kind === 'minor'); i++) await new Promise((r) => setTimeout(r, 10));
    stop();
    const minor = seen.find((s) => s.kind === 'minor');
    expect(minor).toBeDefined();
    expect(minor!.seconds).toBeGreaterThan(0);
    const count = seen.length;
    churn();
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toHaveLength(count);
  });
});
