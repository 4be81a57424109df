import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from '../../src/util/embedded-postgres.js';
import type { StartedPeer } from './proxy-bench-peers.js';

/**
 * nginx as the reference reverse proxy, when the machine has it: a throw-away prefix directory,
 * a config with an upstream `keepalive` pool, and `nginx -g 'daemon off;'` as our child process.
 * One worker process, so it gets the same single core a Node peer gets.
 */
export function findOnPath(command: string, env: NodeJS.ProcessEnv = process.env): string | null {
  // /usr/sbin is where Debian puts nginx and is not always on a non-root PATH.
  const dirs = [...(env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin'].filter((d) => d !== '');
  for (const dir of dirs) {
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return null;
}

export interface NginxConfigInput {
  readonly prefix: string;
  readonly listenPort: number;
  /** host:port of the upstream. */
  readonly upstream: string;
  /** Idle keep-alive connections kept open to the upstream per worker. */
  readonly keepalive: number;
  /** Run workers as root (only when nginx itself runs as root, so workers can use the temp prefix). */
  readonly asRoot: boolean;
}

export function nginxConfig(c: NginxConfigInput): string {
  const p = (name: string) => join(c.prefix, name);
  return `${c.asRoot ? 'user root;\n' : ''}worker_processes 1;
error_log ${p('error.log')} warn;
pid ${p('nginx.pid')};
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${p('client_body')};
  proxy_temp_path ${p('proxy')};
  fastcgi_temp_path ${p('fastcgi')};
  uwsgi_temp_path ${p('uwsgi')};
  scgi_temp_path ${p('scgi')};
  keepalive_requests 1000000;
  upstream bench_upstream {
    server ${c.upstream};
    keepalive ${c.keepalive};
  }
  server {
    listen 127.0.0.1:${c.listenPort};
    location / {
      proxy_pass http://bench_upstream;
      # HTTP/1.1 and an empty Connection header are what let nginx reuse upstream connections.
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

/** Polls a TCP connect until it succeeds, the deadline passes, or `failed()` says to stop. */
async function waitForPort(port: number, deadlineMs: number, failed: () => string | null): Promise<void> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const reason = failed();
    if (reason) throw new Error(reason);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`nginx did not listen on 127.0.0.1:${port} within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function startNginx(upstreamUrl: string, options: { keepalive?: number } = {}): Promise<StartedPeer | { skipped: string }> {
  const bin = findOnPath('nginx');
  if (!bin) return { skipped: 'nginx is not installed (apt-get install -y nginx to include it)' };
  const prefix = mkdtempSync(join(tmpdir(), 'ficus-bench-nginx-'));
  const conf = join(prefix, 'nginx.conf');
  const listenPort = await freePort();
  const upstream = new URL(upstreamUrl).host;
  writeFileSync(conf, nginxConfig({ prefix, listenPort, upstream, keepalive: options.keepalive ?? 64, asRoot: process.getuid?.() === 0 }));
  // -e: the error log before the config is read (else nginx tries /var/log/nginx first).
  const child = spawn(bin, ['-p', prefix, '-e', join(prefix, 'error.log'), '-c', conf, '-g', 'daemon off;'], { stdio: ['ignore', 'inherit', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let exitNote: string | null = null;
  child.once('exit', (code, signal) => {
    const log = (() => {
      try {
        return readFileSync(join(prefix, 'error.log'), 'utf8').trim();
      } catch {
        return '';
      }
    })();
    exitNote = `nginx exited (code ${code}, signal ${signal})${log ? `: ${log}` : ''}`;
  });
  const close = async () => {
    // SIGQUIT: graceful stop of the master and its worker; we only ever signal the child we spawned.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGQUIT');
    await exited;
    rmSync(prefix, { recursive: true, force: true });
  };
  try {
    await waitForPort(listenPort, 5_000, () => exitNote);
  } catch (err) {
    await close();
    throw err;
  }
  return { url: `http://127.0.0.1:${listenPort}`, close };
}
