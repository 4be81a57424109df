import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { UpstreamModel } from '../rules/route-model.js';
import type { ForwardOutcome } from './forward-outcome.js';
import { OUTCOME_ERROR, classifyUpstreamError } from './forward-outcome.js';
import { ERRORS } from '../errors.js';

export interface UpgradeResult {
  readonly status: number;
  readonly outcome: ForwardOutcome;
}

/**
 * Upgrades (websockets) are routed by the same rules, then spliced: 1. ask the upstream to upgrade
 * through its pool, 2. relay its 101 head to the client, 3. pipe bytes both ways until either side
 * closes. Failures before the upgrade become an HTTP error on the client socket.
 */
export async function proxyWebSocket(
  req: IncomingMessage,
  client: Socket,
  head: Buffer,
  upstream: UpstreamModel,
  path: string,
  headers: Record<string, string | string[]>,
): Promise<UpgradeResult> {
  const abort = new AbortController();
  const onEarlyClose = () => abort.abort();
  client.once('close', onEarlyClose);
  try {
    const { headers: upHeaders, socket: up } = await upstream.dispatcher.upgrade({
      path,
      method: req.method ?? 'GET',
      headers,
      protocol: String(req.headers.upgrade ?? 'websocket'),
      signal: abort.signal,
    });
    client.off('close', onEarlyClose);
    if (client.destroyed) {
      up.destroy();
      return { status: 499, outcome: 'client-aborted' };
    }
    let response = 'HTTP/1.1 101 Switching Protocols\r\n';
    for (const [name, value] of Object.entries(upHeaders)) {
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) response += `${name}: ${v}\r\n`;
    }
    client.write(response + '\r\n');
    if (head.length > 0) up.write(head);
    client.setNoDelay(true);
    (up as Socket).setNoDelay?.(true);
    up.on('error', () => client.destroy());
    client.on('error', () => up.destroy());
    up.on('close', () => client.destroy());
    client.on('close', () => up.destroy());
    up.pipe(client);
    client.pipe(up);
    return { status: 101, outcome: 'ok' };
  } catch (err) {
    client.off('close', onEarlyClose);
    const outcome = classifyUpstreamError(err, client.destroyed);
    if (outcome === 'client-aborted') return { status: 499, outcome };
    const code = OUTCOME_ERROR[outcome as keyof typeof OUTCOME_ERROR] ?? 'FICUS_ERR_UPSTREAM_UNREACHABLE';
    const status = ERRORS[code].status ?? 502;
    client.end(`HTTP/1.1 ${status} Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\nx-ficus-error: ${code}\r\n\r\n`);
    return { status, outcome };
  }
}
