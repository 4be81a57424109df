import { ficusError } from '../../errors.js';
import type { Tuple, TupleCell } from '../event/envelope.js';
import { UNCHANGED_TOAST } from '../event/envelope.js';
import { bigIntToLsn } from '../event/position.js';

/**
 * A decoder for the pgoutput protocol (version 1), written here rather than taken from
 * pg-logical-replication because that parser converts values with node-pg's type parsers (losing
 * timestamp microseconds and int8 precision) and turns unchanged TOAST columns into `undefined`.
 * We keep every value as the server's text and mark unchanged TOAST explicitly.
 * https://www.postgresql.org/docs/current/protocol-logicalrep-message-formats.html
 */
export type { Tuple, TupleCell } from '../event/envelope.js';

export interface RelationColumn {
  readonly name: string;
  readonly isKey: boolean;
  readonly typeOid: number;
  readonly typmod: number;
}

export interface RelationMessage {
  readonly tag: 'relation';
  readonly oid: number;
  readonly schema: string;
  readonly table: string;
  readonly replicaIdentity: string;
  readonly columns: readonly RelationColumn[];
}

export type PgoutputMessage =
  | { readonly tag: 'begin'; readonly finalLsn: string; readonly commitTimeMs: number; readonly xid: number }
  | { readonly tag: 'commit'; readonly commitLsn: string; readonly endLsn: string; readonly commitTimeMs: number }
  | RelationMessage
  | { readonly tag: 'insert'; readonly relation: number; readonly newTuple: Tuple }
  | { readonly tag: 'update'; readonly relation: number; readonly oldKind: 'K' | 'O' | null; readonly oldTuple: Tuple | null; readonly newTuple: Tuple }
  | { readonly tag: 'delete'; readonly relation: number; readonly oldKind: 'K' | 'O'; readonly oldTuple: Tuple }
  | { readonly tag: 'truncate'; readonly relations: readonly number[]; readonly cascade: boolean; readonly restartIdentity: boolean }
  | { readonly tag: 'message'; readonly transactional: boolean; readonly lsn: string; readonly prefix: string; readonly content: Buffer }
  | { readonly tag: 'ignored'; readonly kind: string };

/** Postgres epoch (2000-01-01) in Unix milliseconds. */
export const PG_EPOCH_MS = 946_684_800_000;

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  u8(): number { return this.buf[this.pos++]; }
  i16(): number { const v = this.buf.readInt16BE(this.pos); this.pos += 2; return v; }
  i32(): number { const v = this.buf.readInt32BE(this.pos); this.pos += 4; return v; }
  u32(): number { const v = this.buf.readUInt32BE(this.pos); this.pos += 4; return v; }
  lsn(): string { const v = this.buf.readBigUInt64BE(this.pos); this.pos += 8; return bigIntToLsn(v); }
  timeMs(): number { const v = this.buf.readBigInt64BE(this.pos); this.pos += 8; return PG_EPOCH_MS + Number(v / 1000n); }
  cstr(): string {
    const end = this.buf.indexOf(0, this.pos);
    const s = this.buf.toString('utf8', this.pos, end);
    this.pos = end + 1;
    return s;
  }
  bytes(n: number): Buffer { const b = this.buf.subarray(this.pos, this.pos + n); this.pos += n; return b; }
  tuple(): Tuple {
    const n = this.i16();
    const out = new Array<TupleCell>(n);
    for (let i = 0; i < n; i++) {
      const kind = this.u8();
      if (kind === 0x74 /* t */) {
        const len = this.i32();
        out[i] = this.buf.toString('utf8', this.pos, this.pos + len);
        this.pos += len;
      } else if (kind === 0x6e /* n */) {
        out[i] = null;
      } else if (kind === 0x75 /* u */) {
        out[i] = UNCHANGED_TOAST;
      } else {
        throw ficusError('FICUS_ERR_CDC_DECODE', `unexpected tuple column kind ${String.fromCharCode(kind)} (binary mode is not requested)`);
      }
    }
    return out;
  }
}

export function decodePgoutput(buf: Buffer): PgoutputMessage {
  const r = new Reader(buf);
  const tag = r.u8();
  switch (tag) {
    case 0x42: // B
      return { tag: 'begin', finalLsn: r.lsn(), commitTimeMs: r.timeMs(), xid: r.u32() };
    case 0x43: // C
      r.u8();
      return { tag: 'commit', commitLsn: r.lsn(), endLsn: r.lsn(), commitTimeMs: r.timeMs() };
    case 0x52: { // R
      const oid = r.u32();
      const schema = r.cstr();
      const table = r.cstr();
      const replicaIdentity = String.fromCharCode(r.u8());
      const n = r.i16();
      const columns: RelationColumn[] = [];
      for (let i = 0; i < n; i++) {
        const flags = r.u8();
        columns.push({ isKey: (flags & 1) === 1, name: r.cstr(), typeOid: r.u32(), typmod: r.i32() });
      }
      return { tag: 'relation', oid, schema, table, replicaIdentity, columns };
    }
    case 0x49: { // I
      const relation = r.u32();
      r.u8(); // 'N'
      return { tag: 'insert', relation, newTuple: r.tuple() };
    }
    case 0x55: { // U
      const relation = r.u32();
      let kind = r.u8();
      let oldKind: 'K' | 'O' | null = null;
      let oldTuple: Tuple | null = null;
      if (kind === 0x4b || kind === 0x4f) {
        oldKind = kind === 0x4b ? 'K' : 'O';
        oldTuple = r.tuple();
        kind = r.u8();
      }
      return { tag: 'update', relation, oldKind, oldTuple, newTuple: r.tuple() };
    }
    case 0x44: { // D
      const relation = r.u32();
      const kind = r.u8();
      return { tag: 'delete', relation, oldKind: kind === 0x4b ? 'K' : 'O', oldTuple: r.tuple() };
    }
    case 0x54: { // T
      const n = r.i32();
      const flags = r.u8();
      const relations: number[] = [];
      for (let i = 0; i < n; i++) relations.push(r.u32());
      return { tag: 'truncate', relations, cascade: (flags & 1) === 1, restartIdentity: (flags & 2) === 2 };
    }
    case 0x4d: { // M
      const flags = r.u8();
      const lsn = r.lsn();
      const prefix = r.cstr();
      const len = r.i32();
      return { tag: 'message', transactional: (flags & 1) === 1, lsn, prefix, content: r.bytes(len) };
    }
    case 0x59: // Y type
    case 0x4f: // O origin
      return { tag: 'ignored', kind: String.fromCharCode(tag) };
    default:
      throw ficusError('FICUS_ERR_CDC_DECODE', `unknown pgoutput message type 0x${tag.toString(16)}`);
  }
}
