import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { TestServer } from '../../helpers/http-servers.js';
import { startServer } from '../../helpers/http-servers.js';
import type { TestFicus } from '../../helpers/ficus-instance.js';
import { startTestFicus } from '../../helpers/ficus-instance.js';

let legacy: TestServer;
let users: TestServer;
let ficus: TestFicus;
const wsServers: WebSocketServer[] = [];

function echoWs(server: TestServer, name: string): void {
  const wss = new WebSocketServer({ server: server.server });
  wss.on('connection', (ws, req) => {
    ws.send(JSON.stringify({ hello: name, url: req.url, forwardedFor: req.headers['x-forwarded-for'] }));
    ws.on('message', (m) => ws.send(`${name}:${m.toString()}`));
  });
  wsServers.push(wss);
}

beforeAll(async () => {
  legacy = await startServer((_q, s) => s.end('legacy http'));
  users = await startServer((_q, s) => s.end('users http'));
  echoWs(legacy, 'legacy');
  echoWs(users, 'users');
  ficus = await startTestFicus(`
version: 1
upstreams:
  legacy: { url: ${legacy.url} }
  users: { url: ${users.url} }
routes:
  - { name: live, match: { path: /ws/users/** }, to: users, rewrite: { stripPrefix: /ws/users, addPrefix: /socket } }
default: legacy
`);
});

afterAll(async () => {
  for (const w of wsServers) w.close();
  await ficus.close();
  await Promise.all([legacy.close(), users.close()]);
});

function open(path: string): Promise<{ ws: WebSocket; first: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${ficus.port}${path}`);
    ws.once('message', (m) => resolve({ ws, first: JSON.parse(m.toString()) as Record<string, unknown> }));
    ws.once('error', reject);
  });
}

describe('websocket upgrades', () => {
  it('routes an upgrade by the same rules, rewrites its path and splices both directions', async () => {
    const { ws, first } = await open('/ws/users/room/1');
    expect(first).toMatchObject({ hello: 'users', url: '/socket/room/1', forwardedFor: '127.0.0.1' });
    const replies: string[] = [];
    const done = new Promise<void>((r) =>
      ws.on('message', (m) => {
        replies.push(m.toString());
        if (replies.length === 3) r();
      }),
    );
    ws.send('a');
    ws.send('b');
    ws.send('c');
    await done;
    expect(replies).toEqual(['users:a', 'users:b', 'users:c']);
    ws.close();
  });

  it('sends unmatched upgrades to the default upstream', async () => {
    const { ws, first } = await open('/other');
    expect(first.hello).toBe('legacy');
    ws.close();
  });

  it('answers 502 when the upstream refuses the upgrade', async () => {
    const plain = await startServer((_q, s) => s.end('no websockets here'));
    const f = await startTestFicus(`
version: 1
upstreams: { svc: { url: ${plain.url} } }
default: svc
`);
    try {
      const status = await new Promise<number>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${f.port}/x`);
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('error', () => resolve(-1));
      });
      expect(status).toBe(502);
    } finally {
      await f.close();
      await plain.close();
    }
  });
});
