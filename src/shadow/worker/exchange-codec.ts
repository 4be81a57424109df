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
 * - EXCHANGE: u32 policy id, u8 mode, f64 startedAt, u16 status, u8 has-secondary; the request
 *   headers' shape (u32 field count, then per field u32 value count, SINGLE for a plain value);
 *   u32 count of the primary's header pairs (strings); the string table; request body; primary body.
 * The string table holds every string of the exchange in this order: route, endpoint, method, path,
 * candidate origin, secondary origin (when present), each request field's name and values, the
 * primary's header pairs. It is a u32 count, each string's length in UTF-16 units (u32), then u32
 * byte length + the UTF-8 of all of them joined: one concatenation and one write for the encoder,
 * one decode and a slice per string for the decoder, instead of a crossing into C++ (or a JS loop over
 * characters) for each of some thirty strings. Bodies are i32 length + bytes, NO_BODY for null,
 * TOO_LARGE for a body the forwarder stopped copying.
 */
const POLICY = 1;
const EXCHANGE = 2;
/** A request field with one value (not an array). */
const SINGLE = 0xffffffff;
const NO_BODY = -1;
const TOO_LARGE = -2;
/** Fixed part of an exchange record: length, kind, ids and numbers, the counts, the text's length and the two body lengths. */
const EXCHANGE_FIXED = 4 + 1 + 4 + 1 + 8 + 2 + 1 + 4 + 4 + 4 + 4 + 8;

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

/**
 * The UTF-16 length of each string of the exchange being encoded, in table order. Reused (encoding
 * is synchronous and runs on one thread); grown when an exchange has more strings.
 */
let lengths = new Uint32Array(64);
/** The request fields' value counts (SINGLE for a plain value), likewise. */
let shapes = new Uint32Array(32);

/** Writes `ex` into the ring, or says the ring has no room for it now. */
export function encodeExchange(ring: RingWriter, ids: PolicyIds, ex: ShadowExchange): EncodeResult {
  const policyId = ids.idFor(ring, ex.policy);
  if (policyId === null) return 'full';
  const reqBody = ex.requestBody;
  const body = ex.primary.body;
  const h = ex.headers;
  const pairs = ex.primary.rawHeaders;
  // The strings are joined by concatenation, which V8 does without copying (a rope that the one
  // write below flattens); only their lengths are kept apart.
  let fields = 0;
  let needed = 6 + pairs.length;
  for (const name in h) {
    const v = h[name];
    if (v === undefined) continue;
    fields++;
    needed += 1 + (Array.isArray(v) ? v.length : 1);
  }
  if (needed > lengths.length) lengths = new Uint32Array(2 * needed);
  if (fields > shapes.length) shapes = new Uint32Array(2 * fields);
  let n = 0;
  let text = ex.route;
  lengths[n++] = ex.route.length;
  text += ex.endpoint;
  lengths[n++] = ex.endpoint.length;
  text += ex.method;
  lengths[n++] = ex.method.length;
  text += ex.path;
  lengths[n++] = ex.path.length;
  text += ex.candidateOrigin;
  lengths[n++] = ex.candidateOrigin.length;
  if (ex.secondaryOrigin !== null) {
    text += ex.secondaryOrigin;
    lengths[n++] = ex.secondaryOrigin.length;
  }
  let f = 0;
  for (const name in h) {
    const v = h[name];
    if (v === undefined) continue;
    text += name;
    lengths[n++] = name.length;
    if (Array.isArray(v)) {
      // An array, even of one value, stays an array.
      shapes[f++] = v.length;
      for (let i = 0; i < v.length; i++) {
        const s = String(v[i]);
        text += s;
        lengths[n++] = s.length;
      }
    } else {
      // Header objects built in code may hold a number (a content-length): sent as its text.
      shapes[f++] = SINGLE;
      const s = typeof v === 'string' ? v : String(v);
      text += s;
      lengths[n++] = s.length;
    }
  }
  for (let i = 0; i < pairs.length; i++) {
    text += pairs[i];
    lengths[n++] = pairs[i].length;
  }
  const reqBytes = typeof reqBody === 'object' && reqBody !== null ? reqBody.length : 0;
  const bodyBytes = typeof body === 'string' ? 0 : body.length;
  // UTF-8 takes at most 3 bytes per UTF-16 unit.
  const bound = EXCHANGE_FIXED + 4 * f + 4 * n + 3 * text.length + reqBytes + bodyBytes;
  const start = ring.reserve(bound);
  if (start < 0) return 'full';
  const b = ring.buf;
  let o = start + 4;
  b[o++] = EXCHANGE;
  putU32(b, o, policyId);
  o += 4;
  b[o++] = ex.mode === 'live' ? 1 : 0;
  o = b.writeDoubleLE(ex.startedAt, o);
  b[o++] = ex.primary.status & 0xff;
  b[o++] = ex.primary.status >>> 8;
  b[o++] = ex.secondaryOrigin === null ? 0 : 1;
  putU32(b, o, f);
  o += 4;
  for (let i = 0; i < f; i++, o += 4) putU32(b, o, shapes[i]);
  putU32(b, o, pairs.length);
  o += 4;
  putU32(b, o, n);
  o += 4;
  for (let i = 0; i < n; i++, o += 4) putU32(b, o, lengths[i]);
  const bytes = b.write(text, o + 4, 'utf8');
  putU32(b, o, bytes);
  o += 4 + bytes;
  o = writeBody(b, o, reqBody);
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
  const hasSecondary = r.u8() === 1;
  const fields = r.u32();
  const shapeAt = r.skip(4, fields);
  const pairCount = r.u32();
  const strings = r.stringTable();
  const route = strings.next();
  const endpoint = strings.next();
  const method = strings.next();
  const path = strings.next();
  const candidateOrigin = strings.next();
  const secondaryOrigin = hasSecondary ? strings.next() : null;
  const headers: Record<string, string | string[]> = {};
  for (let i = 0; i < fields; i++) {
    const name = strings.next();
    const n = buf.readUInt32LE(shapeAt + 4 * i);
    if (n === SINGLE) {
      headers[name] = strings.next();
      continue;
    }
    strings.want(n);
    const values: string[] = new Array<string>(n);
    for (let j = 0; j < n; j++) values[j] = strings.next();
    headers[name] = values;
  }
  strings.want(pairCount);
  const primaryHeaders: string[] = new Array<string>(pairCount);
  for (let i = 0; i < pairCount; i++) primaryHeaders[i] = strings.next();
  strings.end();
  const requestBody = r.body();
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

/** Little-endian u32 without Buffer#writeUInt32LE's argument checks (o is always in the record). */
function putU32(b: Buffer, o: number, n: number): void {
  b[o] = n;
  b[o + 1] = n >>> 8;
  b[o + 2] = n >>> 16;
  b[o + 3] = n >>> 24;
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

  /** Skips `count` items of `size` bytes, checking they are in the record; returns where they start. */
  skip(size: number, count: number): number {
    this.need(size * count);
    const at = this.at;
    this.at += size * count;
    return at;
  }

  /** The string table: its lengths are checked against the record, and their sum against the text. */
  stringTable(): StringTable {
    const count = this.u32();
    // Every string takes its 4-byte length: a corrupt count fails here, not in an allocation.
    const lengthsAt = this.skip(4, count);
    const bytes = this.u32();
    this.need(bytes);
    const text = this.b.toString('utf8', this.at, this.at + bytes);
    this.at += bytes;
    return new StringTable(this.b, lengthsAt, count, text);
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

/** Hands out the strings of an exchange record's table in order, as slices of the decoded text. */
class StringTable {
  private index = 0;
  private pos = 0;

  constructor(
    private readonly b: Buffer,
    private readonly lengthsAt: number,
    private readonly count: number,
    private readonly text: string,
  ) {}

  /** Throws unless `n` more strings are left (before an array of them is allocated). */
  want(n: number): void {
    if (n > this.count - this.index) throw new Error(`shadow copy ring: a record asks for ${n} more strings, its table has ${this.count - this.index} left`);
  }

  next(): string {
    if (this.index >= this.count) throw new Error(`shadow copy ring: a record asks for more than the ${this.count} strings of its table`);
    const len = this.b.readUInt32LE(this.lengthsAt + 4 * this.index++);
    if (len > this.text.length - this.pos) throw new Error(`shadow copy ring: string ${this.index} of a record runs past its table's text`);
    const s = this.text.slice(this.pos, this.pos + len);
    this.pos += len;
    return s;
  }

  /** Every string and every unit of the text was used. */
  end(): void {
    if (this.index !== this.count || this.pos !== this.text.length) {
      throw new Error(`shadow copy ring: a record used ${this.index} of its ${this.count} strings and ${this.pos} of ${this.text.length} text units`);
    }
  }
}
