import { describe, expect, it } from 'vitest';
import type { ShadowExchange } from '../../../../src/shadow/shadow-dispatcher.js';
import type { ShadowPolicy } from '../../../../src/shadow/shadow-policy.js';
import { compileShadowPolicy } from '../../../../src/shadow/shadow-policy.js';
import { RingReader, RingWriter, allocateRing } from '../../../../src/shadow/worker/copy-ring.js';
import type { RingRecord } from '../../../../src/shadow/worker/exchange-codec.js';
import { PolicyIds, decodeRecord, encodeExchange } from '../../../../src/shadow/worker/exchange-codec.js';

const policy = compileShadowPolicy({
  sample: 0.5,
  compare: { headers: ['Content-Type'], ignore: ['$.**.updated_at'], unorderedArrays: [{ path: '$.items', key: 'sku' }], numericTolerance: 0.01 },
  noise: { secondary: 'legacy', sample: 0.25 },
  redact: ['headers.x-api-key', '$.password'],
});

function exchange(over: Partial<ShadowExchange> = {}): ShadowExchange {
  return {
    route: 'users-read',
    endpoint: 'GET /api/users/:id',
    mode: 'shadow',
    policy,
    method: 'GET',
    path: '/api/users/17?q=caf%C3%A9&name=zoë',
    headers: { host: 'ficus.test', accept: 'application/json', 'x-tags': ['a', 'b'], 'x-one': ['only'], 'x-name': 'Zoë 😀' },
    requestBody: null,
    primary: { status: 203, rawHeaders: ['Content-Type', 'application/json', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2'], body: Buffer.from('{"id":17}') },
    candidateOrigin: 'http://127.0.0.1:8081',
    secondaryOrigin: 'http://127.0.0.1:8080',
    startedAt: 1_764_460_800_123.5,
    ...over,
  };
}

/** Encodes into a fresh ring and decodes every record back, as the worker does. */
function roundTrip(exs: readonly ShadowExchange[]): { records: RingRecord[]; policies: Map<number, ShadowPolicy> } {
  const mem = allocateRing(1024 * 1024);
  const w = new RingWriter(mem);
  const ids = new PolicyIds();
  for (const ex of exs) expect(encodeExchange(w, ids, ex)).toBe('written');
  const r = new RingReader(mem);
  const policies = new Map<number, ShadowPolicy>();
  const records: RingRecord[] = [];
  r.read((start, end) => {
    const rec = decodeRecord(r.buf, start, end, policies);
    if (rec.kind === 'policy') policies.set(rec.id, rec.policy);
    records.push(rec);
    return true;
  });
  return { records, policies };
}

/** Encodes `ex` (after its policy) into a fresh ring; the reader and the exchange record's [start, end), undecoded. */
function exchangeSpan(ex: ShadowExchange): { r: RingReader; ex: [number, number] } {
  const mem = allocateRing(64 * 1024);
  encodeExchange(new RingWriter(mem), new PolicyIds(), ex);
  const r = new RingReader(mem);
  const spans: [number, number][] = [];
  r.read((start, end) => {
    spans.push([start, end]);
    return true;
  });
  return { r, ex: spans[1] };
}

describe('exchange codec', () => {
  it('round-trips an exchange: strings in UTF-8, repeated fields as arrays, numbers exact', () => {
    const ex = exchange();
    const { records } = roundTrip([ex]);
    expect(records.map((r) => r.kind)).toEqual(['policy', 'exchange']);
    const got = (records[1] as Extract<RingRecord, { kind: 'exchange' }>).ex;
    expect({ ...got, policy: null }).toEqual({ ...ex, policy: null });
    expect(got.primary.body).toBeInstanceOf(Buffer);
  });

  it('sends a policy once, with its sets and globs, and a new one after a reload', () => {
    const reloaded = compileShadowPolicy({ sample: 1 });
    const { records, policies } = roundTrip([exchange(), exchange({ method: 'HEAD' }), exchange({ policy: reloaded })]);
    expect(records.map((r) => r.kind)).toEqual(['policy', 'exchange', 'exchange', 'policy', 'exchange']);
    expect([...policies.values()]).toEqual([policy, reloaded]);
    const first = [...policies.values()][0];
    expect(first.redact.headers.has('x-api-key')).toBe(true);
    expect(first.redact.headers.has('authorization')).toBe(true);
    expect((records[4] as Extract<RingRecord, { kind: 'exchange' }>).ex.policy).toEqual(reloaded);
  });

  it('sends a policy recompiled with the same contents (a reload that left the route alone) only once', () => {
    const again = compileShadowPolicy({
      sample: 0.5,
      compare: { headers: ['Content-Type'], ignore: ['$.**.updated_at'], unorderedArrays: [{ path: '$.items', key: 'sku' }], numericTolerance: 0.01 },
      noise: { secondary: 'legacy', sample: 0.25 },
      redact: ['headers.x-api-key', '$.password'],
    });
    expect(again).not.toBe(policy);
    const { records } = roundTrip([exchange(), exchange({ policy: again }), exchange()]);
    expect(records.map((r) => r.kind)).toEqual(['policy', 'exchange', 'exchange', 'exchange']);
  });

  it('writes ASCII, Latin-1, astral, long and empty strings alike', () => {
    const long = 'a'.repeat(300);
    const longAccent = 'é' + 'b'.repeat(300);
    const ex = exchange({
      path: `/${long}?x=${longAccent}`,
      headers: { 'x-latin': 'café', 'x-late': 'abcdefé', 'x-first': 'éabc', 'x-astral': '😀', 'x-long': long, 'x-long-accent': longAccent, 'x-empty': '' },
      primary: { status: 200, rawHeaders: ['X-Latin', 'naïve', 'X-Long', long, 'X-Empty', ''], body: Buffer.from('ok') },
    });
    const got = roundTrip([ex]).records[1] as Extract<RingRecord, { kind: 'exchange' }>;
    expect({ ...got.ex, policy: null }).toEqual({ ...ex, policy: null });
  });

  it('refuses a string table whose counts or lengths do not fit the record, before allocating for them', () => {
    // No request fields, no primary pairs, no secondary: the table holds the five fixed strings.
    const bare = exchange({ headers: {}, secondaryOrigin: null, primary: { status: 200, rawHeaders: [], body: Buffer.from('x') } });
    const policies = new Map([[1, policy]]);
    // kind 1, policy id 4, mode 1, startedAt 8, status 2, has-secondary 1: then the field count,
    // the pair count, the string count and the five lengths.
    const at = { fields: 17, pairs: 21, strings: 25, firstLength: 29 };
    const corrupt = (offset: number, value: number) => {
      const { r, ex } = exchangeSpan(bare);
      r.buf.writeUInt32LE(value, ex[0] + offset);
      return () => decodeRecord(r.buf, ex[0], ex[1], policies);
    };
    {
      const { r, ex } = exchangeSpan(bare);
      expect([at.fields, at.pairs, at.strings].map((o) => r.buf.readUInt32LE(ex[0] + o))).toEqual([0, 0, 5]);
      expect(r.buf.readUInt32LE(ex[0] + at.firstLength)).toBe('users-read'.length);
    }
    expect(corrupt(at.strings, 0x7fffffff)).toThrow(/record truncated at byte \d+/);
    expect(corrupt(at.fields, 0x7fffffff)).toThrow(/record truncated at byte \d+/);
    expect(corrupt(at.pairs, 0x7fffffff)).toThrow('a record asks for 2147483647 more strings, its table has 0 left');
    expect(corrupt(at.firstLength, 5000)).toThrow(/string 1 of a record runs past its table's text/);
    expect(corrupt(at.firstLength, 3)).toThrow(/a record used 5 of its 5 strings and \d+ of \d+ text units/);
  });

  it('round-trips exchanges with more fields and strings than the encoder first makes room for, then small ones again', () => {
    const many: Record<string, string | string[]> = {};
    for (let i = 0; i < 100; i++) many[`x-field-${i}`] = `value ${i}`;
    many['x-list'] = Array.from({ length: 50 }, (_, i) => `item ${i}`);
    const big = exchange({ headers: many, primary: { status: 200, rawHeaders: Array.from({ length: 80 }, (_, i) => `p${i}`), body: Buffer.from('{}') } });
    const got = roundTrip([exchange(), big, exchange()]).records.filter((r) => r.kind === 'exchange').map((r) => ({ ...r.ex, policy: null }));
    expect(got).toEqual([exchange(), big, exchange()].map((e) => ({ ...e, policy: null })));
  });

  it('keeps the strings after a lone surrogate in place (UTF-8 writes it as one replacement unit)', () => {
    const ex = exchange({ headers: { 'x-broken': 'a\uD800b', 'x-after': 'intact' } });
    const got = (roundTrip([ex]).records[1] as Extract<RingRecord, { kind: 'exchange' }>).ex;
    expect(got.headers).toEqual({ 'x-broken': 'a\uFFFDb', 'x-after': 'intact' });
    expect(got.primary.rawHeaders).toEqual(ex.primary.rawHeaders);
  });

  it('sends a header value held as a number as its text', () => {
    const headers = { 'content-length': 42 } as unknown as ShadowExchange['headers'];
    const got = roundTrip([exchange({ headers })]).records[1] as Extract<RingRecord, { kind: 'exchange' }>;
    expect(got.ex.headers).toEqual({ 'content-length': '42' });
  });

  it('carries request bodies, no body, bodies marked too large, live mode and no secondary', () => {
    const cases: ShadowExchange[] = [
      exchange({ method: 'POST', requestBody: Buffer.from([0, 1, 2, 255]) }),
      exchange({ requestBody: 'too-large', primary: { status: 200, rawHeaders: [], body: 'too-large' } }),
      exchange({ mode: 'live', secondaryOrigin: null, primary: { status: 204, rawHeaders: [], body: Buffer.alloc(0) } }),
    ];
    const got = roundTrip(cases).records.filter((r) => r.kind === 'exchange').map((r) => r.ex);
    expect(got.map((g) => ({ ...g, policy: null }))).toEqual(cases.map((c) => ({ ...c, policy: null })));
  });

  it('says the ring is full instead of writing part of an exchange', () => {
    const mem = allocateRing(64 * 1024);
    const w = new RingWriter(mem);
    const big = exchange({ primary: { status: 200, rawHeaders: [], body: Buffer.alloc(40 * 1024) } });
    const ids = new PolicyIds();
    expect(encodeExchange(w, ids, big)).toBe('written');
    expect(encodeExchange(w, ids, big)).toBe('full');
    const r = new RingReader(mem);
    const policies = new Map<number, ShadowPolicy>();
    let exchanges = 0;
    r.read((start, end) => {
      const rec = decodeRecord(r.buf, start, end, policies);
      if (rec.kind === 'policy') policies.set(rec.id, rec.policy);
      else exchanges++;
      return true;
    });
    expect(exchanges).toBe(1);
  });

  it('refuses an exchange whose policy never came, and a truncated record, saying where', () => {
    const { r, ex } = exchangeSpan(exchange());
    expect(() => decodeRecord(r.buf, ex[0], ex[1], new Map())).toThrow('exchange names policy 1, which was never sent');
    const policies = new Map([[1, policy]]);
    expect(() => decodeRecord(r.buf, ex[0], ex[1] - 3, policies)).toThrow(/record truncated at byte \d+/);
  });
});
