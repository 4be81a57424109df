import type { IncomingHttpHeaders } from 'node:http';
import { deserialize, serialize } from 'node:v8';
import type { ShadowExchange } from '../shadow-dispatcher.js';
import type { ShadowPolicy } from '../shadow-policy.js';
import type { RingWriter } from './copy-ring.js';

/**
 * ShadowExchange ⇄ bytes in the copy ring. The main thread pays for encoding, so it writes straight
 * into the ring with no intermediate object or Buffer; the worker pays for decoding.
 *
 * A record (after the ring's 4-byte length) is one kind byte, then:
 * - POLICY: u32 id, the policy as node:v8 serialize() bytes. Sent once per compiled policy,
 *   ahead of the first exchange that uses it, so a reload's new policies travel in order.
 * - EXCHANGE: u32 policy id, u8 mode, f64 startedAt, u16 status; strings route, endpoint,
 *   method, path, candidate origin, secondary origin; request headers; request body; primary
 *   header pairs; primary body.
 * Strings are u32 byte length + UTF-8 (NONE for null). Headers are u16 count, then per field a
 * name and u16 value count + values (a repeated field keeps its array). Header pairs (the primary's
 * rawHeaders) are a u32 string count, then the strings. Bodies are i32 length + bytes, NO_BODY for
 * null, TOO_LARGE for a body the forwarder stopped copying.
 */
const POLICY = 1;
const EXCHANGE = 2;
const NONE = 0xffffffff;
const NO_BODY = -1;
const TOO_LARGE = -2;
/** Fixed part of an exchange record: length, kind, ids and numbers, padding. */
const EXCHANGE_FIXED = 4 + 1 + 4 + 1 + 8 + 2 + 8;

export type EncodeResult = 'written' | 'full';

/**
 * Assigns each compiled policy an id and sends it once. A reload compiles new policy objects even
 * for routes whose `shadow:` block did not change; equal contents keep their id, so the worker
 * holds one entry per distinct policy, however often the rules reload.
 */
export class PolicyIds {
  private readonly byObject = new WeakMap<ShadowPolicy, number>();
  private readonly byContent = new Map<string, number>();
  private next = 1;

  /** The policy's id, writing its definition first when the reader has not seen it. */
  idFor(ring: RingWriter, policy: ShadowPolicy): number | null {
    const known = this.byObject.get(policy);
    if (known !== undefined) return known;
    const bytes = serialize(policy);
    const content = bytes.toString('latin1');
    const same = this.byContent.get(content);
    if (same !== undefined) {
      this.byObject.set(policy, same);
      return same;
    }
    const id = this.next;
    const start = ring.reserve(4 + 1 + 4 + bytes.length);
    if (start < 0) return null;
    let o = start + 4;
    o = ring.buf.writeUInt8(POLICY, o);
    o = ring.buf.writeUInt32LE(id, o);
    o += bytes.copy(ring.buf, o);
    ring.commit(start, o);
    this.byObject.set(policy, id);
    this.byContent.set(content, id);
    this.next++;
    return id;
  }
}

/** Writes `ex` into the ring, or says the ring has no room for it now. */
export function encodeExchange(ring: RingWriter, ids: PolicyIds, ex: ShadowExchange): EncodeResult {
  const policyId = ids.idFor(ring, ex.policy);
  if (policyId === null) return 'full';
  const reqBody = ex.requestBody;
  const body = ex.primary.body;
  const bound =
    EXCHANGE_FIXED +
    strBound(ex.route) + strBound(ex.endpoint) + strBound(ex.method) + strBound(ex.path) +
    strBound(ex.candidateOrigin) + (ex.secondaryOrigin === null ? 4 : strBound(ex.secondaryOrigin)) +
    headersBound(ex.headers) + pairsBound(ex.primary.rawHeaders) +
    4 + (typeof reqBody === 'object' && reqBody !== null ? reqBody.length : 0) +
    4 + (typeof body === 'string' ? 0 : body.length);
  const start = ring.reserve(bound);
  if (start < 0) return 'full';
  const b = ring.buf;
  let o = start + 4;
  o = b.writeUInt8(EXCHANGE, o);
  o = b.writeUInt32LE(policyId, o);
  o = b.writeUInt8(ex.mode === 'live' ? 1 : 0, o);
  o = b.writeDoubleLE(ex.startedAt, o);
  o = b.writeUInt16LE(ex.primary.status, o);
  o = writeStr(b, o, ex.route);
  o = writeStr(b, o, ex.endpoint);
  o = writeStr(b, o, ex.method);
  o = writeStr(b, o, ex.path);
  o = writeStr(b, o, ex.candidateOrigin);
  o = ex.secondaryOrigin === null ? b.writeUInt32LE(NONE, o) : writeStr(b, o, ex.secondaryOrigin);
  o = writeHeaders(b, o, ex.headers);
  o = writeBody(b, o, reqBody);
  o = writePairs(b, o, ex.primary.rawHeaders);
  o = writeBody(b, o, body);
  ring.commit(start, o);
  return 'written';
}

/** What the worker reads: an exchange, or a policy to remember for the exchanges after it. */
export type RingRecord = { readonly kind: 'exchange'; readonly ex: ShadowExchange } | { readonly kind: 'policy'; readonly id: number; readonly policy: ShadowPolicy };

/**
 * Decodes the record in buf[start, end) (after the ring's length). Bodies are copied out, since the
 * ring reuses its memory. An exchange naming a policy not in `policies` is a protocol error.
 */
export function decodeRecord(buf: Buffer, start: number, end: number, policies: ReadonlyMap<number, ShadowPolicy>): RingRecord {
  const r = new Cursor(buf, start, end);
  const kind = r.u8();
  if (kind === POLICY) {
    const id = r.u32();
    return { kind: 'policy', id, policy: deserialize(buf.subarray(r.at, end)) as ShadowPolicy };
  }
  if (kind !== EXCHANGE) throw new Error(`shadow copy ring: unknown record kind ${kind} at byte ${start}`);
  const policyId = r.u32();
  const policy = policies.get(policyId);
  if (policy === undefined) throw new Error(`shadow copy ring: exchange names policy ${policyId}, which was never sent`);
  const mode = r.u8() === 1 ? 'live' : 'shadow';
  const startedAt = r.f64();
  const status = r.u16();
  const route = r.text();
  const endpoint = r.text();
  const method = r.text();
  const path = r.text();
  const candidateOrigin = r.text();
  const secondaryOrigin = r.str();
  const headers = r.headers();
  const requestBody = r.body();
  const primaryHeaders = r.pairs();
  const primaryBody = r.body();
  if (primaryBody === null) throw new Error('shadow copy ring: an exchange without a primary body');
  r.end();
  return {
    kind: 'exchange',
    ex: {
      route, endpoint, mode, policy, method, path, headers, requestBody,
      primary: { status, rawHeaders: primaryHeaders, body: primaryBody },
      candidateOrigin, secondaryOrigin, startedAt,
    },
  };
}

/** UTF-8 takes at most 3 bytes per UTF-16 unit. */
const strBound = (s: string): number => 4 + 3 * s.length;

function headersBound(h: IncomingHttpHeaders): number {
  let n = 2;
  for (const name in h) {
    const v = h[name];
    if (v === undefined) continue;
    n += strBound(name) + 2;
    if (Array.isArray(v)) for (let i = 0; i < v.length; i++) n += 2 + strBound(String(v[i]));
    else n += strBound(String(v));
  }
  return n;
}

/**
 * Strings up to this many UTF-16 units are written by a JS loop while they are ASCII, as header
 * names and values almost always are: Buffer#write crosses into C++ for each string, and an
 * exchange has some thirty of them (most of encodeExchange's time when every write took that way).
 */
const ASCII_LOOP_MAX = 256;

function pairsBound(pairs: readonly string[]): number {
  let n = 4;
  for (let i = 0; i < pairs.length; i++) n += strBound(pairs[i]);
  return n;
}

function writePairs(b: Buffer, o: number, pairs: readonly string[]): number {
  putU32(b, o, pairs.length);
  o += 4;
  for (let i = 0; i < pairs.length; i++) o = writeStr(b, o, pairs[i]);
  return o;
}

function writeStr(b: Buffer, o: number, s: string): number {
  const at = o + 4;
  const len = s.length;
  if (len <= ASCII_LOOP_MAX) {
    let i = 0;
    for (; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      b[at + i] = c;
    }
    if (i === len) {
      putU32(b, o, len);
      return at + len;
    }
  }
  const n = b.write(s, at, 'utf8');
  putU32(b, o, n);
  return at + n;
}

/** Little-endian u32 without Buffer#writeUInt32LE's argument checks (o is always in the record). */
function putU32(b: Buffer, o: number, n: number): void {
  b[o] = n;
  b[o + 1] = n >>> 8;
  b[o + 2] = n >>> 16;
  b[o + 3] = n >>> 24;
}

function writeHeaders(b: Buffer, o: number, h: IncomingHttpHeaders): number {
  const countAt = o;
  o += 2;
  let count = 0;
  for (const name in h) {
    const v = h[name];
    if (v === undefined) continue;
    o = writeStr(b, o, name);
    if (Array.isArray(v)) {
      // An array, even of one value, stays an array: a 0 count marks it.
      o = b.writeUInt16LE(0, o);
      o = b.writeUInt16LE(v.length, o);
      for (let i = 0; i < v.length; i++) o = writeStr(b, o, String(v[i]));
    } else {
      // Header objects built in code may hold a number (a content-length): sent as its text.
      o = b.writeUInt16LE(1, o);
      o = writeStr(b, o, typeof v === 'string' ? v : String(v));
    }
    count++;
  }
  b.writeUInt16LE(count, countAt);
  return o;
}

function writeBody(b: Buffer, o: number, body: Buffer | null | 'too-large'): number {
  if (body === null) return b.writeInt32LE(NO_BODY, o);
  if (body === 'too-large') return b.writeInt32LE(TOO_LARGE, o);
  o = b.writeInt32LE(body.length, o);
  // TypedArray#set: Buffer#copy's argument checks cost more than copying a small body.
  b.set(body, o);
  return o + body.length;
}

/** Reads one record, checking every length against the record's end. */
class Cursor {
  constructor(
    private readonly b: Buffer,
    public at: number,
    private readonly limit: number,
  ) {}

  private need(n: number): void {
    if (this.at + n > this.limit) throw new Error(`shadow copy ring: record truncated at byte ${this.at}`);
  }

  u8(): number {
    this.need(1);
    return this.b[this.at++];
  }

  u16(): number {
    this.need(2);
    const v = this.b.readUInt16LE(this.at);
    this.at += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.b.readUInt32LE(this.at);
    this.at += 4;
    return v;
  }

  f64(): number {
    this.need(8);
    const v = this.b.readDoubleLE(this.at);
    this.at += 8;
    return v;
  }

  str(): string | null {
    const n = this.u32();
    if (n === NONE) return null;
    this.need(n);
    const s = this.b.toString('utf8', this.at, this.at + n);
    this.at += n;
    return s;
  }

  /** A string that cannot be null. */
  text(): string {
    const s = this.str();
    if (s === null) throw new Error(`shadow copy ring: a required string is missing before byte ${this.at}`);
    return s;
  }

  headers(): IncomingHttpHeaders {
    const h: Record<string, string | string[]> = {};
    const count = this.u16();
    for (let i = 0; i < count; i++) {
      const name = this.text();
      const n = this.u16();
      if (n === 1) {
        h[name] = this.text();
        continue;
      }
      const values: string[] = [];
      for (let j = this.u16(); j > 0; j--) values.push(this.text());
      h[name] = values;
    }
    return h;
  }

  /** A u32 count of strings: the primary's header pairs. */
  pairs(): string[] {
    const n = this.u32();
    // Every string takes at least its 4-byte length: a corrupt count fails here, not in an allocation.
    this.need(4 * n);
    const out: string[] = new Array<string>(n);
    for (let i = 0; i < n; i++) out[i] = this.text();
    return out;
  }

  body(): Buffer | null | 'too-large' {
    this.need(4);
    const n = this.b.readInt32LE(this.at);
    this.at += 4;
    if (n === NO_BODY) return null;
    if (n === TOO_LARGE) return 'too-large';
    this.need(n);
    const copy = Buffer.allocUnsafe(n);
    this.b.copy(copy, 0, this.at, this.at + n);
    this.at += n;
    return copy;
  }

  end(): void {
    if (this.at !== this.limit) throw new Error(`shadow copy ring: ${this.limit - this.at} bytes left over in a record`);
  }
}
