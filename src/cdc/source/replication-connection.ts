import pg from 'pg';
import { ficusError } from '../../errors.js';
import { lsnToBigInt, bigIntToLsn } from '../event/position.js';
import type { PgoutputMessage } from './pgoutput-decoder.js';
import { PG_EPOCH_MS, decodePgoutput } from './pgoutput-decoder.js';

/**
 * Session settings for every connection whose text output we decode (replication and snapshot), so
 * the text of a timestamp, interval, float or bytea is the same unambiguous form everywhere.
 */
export const DECODE_SESSION_OPTIONS = '-c DateStyle=ISO -c TimeZone=UTC -c IntervalStyle=postgres -c extra_float_digits=3 -c bytea_output=hex';

export interface StreamHandlers {
  /** One decoded pgoutput message; `walStart` is the LSN of the WAL record it came from. */
  onMessage(walStart: string, msg: PgoutputMessage): void;
  /** A primary keepalive; when `replyRequested` the caller must answer with a status update now. */
  onKeepalive(walEnd: string, replyRequested: boolean): void;
  onEnd(err: Error | null): void;
}

interface Internals {
  connection: { on(ev: string, fn: (m: { chunk: Buffer }) => void): void; sendCopyFromChunk(b: Buffer): void; stream: { pause(): void; resume(): void } };
}

/**
 * A walsender connection (`replication=database`). We speak the streaming part of the protocol
 * ourselves — START_REPLICATION, XLogData, keepalives and Standby Status Update — because the
 * status we send must be the position that is durable downstream, never "the last LSN received"
 * (pg-logical-replication's auto-ack and its 10 s timer both send the latter).
 * https://www.postgresql.org/docs/current/protocol-replication.html
 */
export class ReplicationConnection {
  private streaming = false;
  private constructor(private readonly client: pg.Client) {}

  static async open(url: string): Promise<ReplicationConnection> {
    const client = new pg.Client({ connectionString: url, replication: 'database', options: DECODE_SESSION_OPTIONS } as pg.ClientConfig);
    client.on('error', () => {}); // surfaced through onEnd / the pending query
    await client.connect();
    return new ReplicationConnection(client);
  }

  async serverVersion(): Promise<number> {
    const r = await this.client.query<{ server_version: string }>('SHOW server_version_num');
    return Number((r.rows[0] as unknown as Record<string, string>).server_version_num);
  }

  /**
   * Creates a logical slot. With `exportSnapshot` the result names a snapshot that sees exactly the
   * data before `consistentPoint`; it stays importable (SET TRANSACTION SNAPSHOT) until this
   * connection runs another command, so callers snapshot first, then START_REPLICATION.
   */
  async createSlot(slot: string, options: { exportSnapshot: boolean; temporary?: boolean }): Promise<{ consistentPoint: string; snapshotName: string | null }> {
    const version = await this.serverVersion();
    const temp = options.temporary ? ' TEMPORARY' : '';
    const sql = version >= 150000
      ? `CREATE_REPLICATION_SLOT "${slot}"${temp} LOGICAL pgoutput (SNAPSHOT '${options.exportSnapshot ? 'export' : 'nothing'}')`
      : `CREATE_REPLICATION_SLOT "${slot}"${temp} LOGICAL pgoutput ${options.exportSnapshot ? 'EXPORT_SNAPSHOT' : 'NOEXPORT_SNAPSHOT'}`;
    const r = await this.client.query<{ consistent_point: string; snapshot_name: string | null }>(sql);
    return { consistentPoint: r.rows[0].consistent_point, snapshotName: r.rows[0].snapshot_name };
  }

  /** Starts streaming at an explicit LSN (the durable position; Postgres never goes below confirmed_flush). */
  start(slot: string, publication: string, startLsn: string, h: StreamHandlers): void {
    const { connection } = this.client as unknown as Internals;
    this.streaming = true;
    connection.on('copyData', ({ chunk }) => {
      try {
        if (chunk[0] === 0x77 /* w: XLogData */) {
          const walStart = bigIntToLsn(chunk.readBigUInt64BE(1));
          h.onMessage(walStart, decodePgoutput(chunk.subarray(25)));
        } else if (chunk[0] === 0x6b /* k: keepalive */) {
          h.onKeepalive(bigIntToLsn(chunk.readBigUInt64BE(1)), chunk[17] === 1);
        }
      } catch (err) {
        h.onEnd(err as Error);
      }
    });
    const sql = `START_REPLICATION SLOT "${slot}" LOGICAL ${startLsn} (proto_version '1', publication_names '${publication.replace(/'/g, "''")}', messages 'true')`;
    this.client.query(sql).then(
      () => h.onEnd(null),
      (err: Error) => h.onEnd(this.streaming ? ficusError('FICUS_ERR_CDC_SOURCE', err.message) : null),
    );
  }

  /**
   * Standby Status Update: write = flush = apply = the durable position. Postgres advances the
   * slot's confirmed_flush_lsn to `flushLsn`, and on restart skips transactions that committed before it.
   */
  sendStatus(flushLsn: string, replyRequested = false): void {
    const { connection } = this.client as unknown as Internals;
    const buf = Buffer.alloc(34);
    buf[0] = 0x72; // r
    const lsn = lsnToBigInt(flushLsn);
    buf.writeBigUInt64BE(lsn, 1);
    buf.writeBigUInt64BE(lsn, 9);
    buf.writeBigUInt64BE(lsn, 17);
    buf.writeBigInt64BE(BigInt(Date.now() - PG_EPOCH_MS) * 1000n, 25);
    buf[33] = replyRequested ? 1 : 0;
    connection.sendCopyFromChunk(buf);
  }

  pause(): void {
    (this.client as unknown as Internals).connection.stream.pause();
  }

  resume(): void {
    (this.client as unknown as Internals).connection.stream.resume();
  }

  async close(): Promise<void> {
    this.streaming = false;
    await this.client.end().catch(() => {});
  }
}
