import { startPeerStats } from './peer-stats.js';
import { announceReady, answerStats } from './proxy-bench-ipc.js';
import { startCannedUpstream } from './canned-upstream.js';
import { oneKibJson, startHttpProxy, startUpstream } from './proxy-bench-peers.js';
import type { StartedPeer } from './proxy-bench-peers.js';

/**
 * Child-process entry for one benchmark peer, started by forkPeer():
 *   node proxy-bench-peer-main.js upstream
 *   node proxy-bench-peer-main.js canned-upstream   (the upstream's answer from a net socket)
 *   node proxy-bench-peer-main.js http-proxy <upstream-url>
 */
async function main(): Promise<void> {
  const [kind, upstreamUrl] = process.argv.slice(2);
  let peer: StartedPeer;
  if (kind === 'upstream') peer = await startUpstream();
  else if (kind === 'canned-upstream') peer = await startCannedUpstream(oneKibJson());
  else if (kind === 'http-proxy' && upstreamUrl) peer = await startHttpProxy(upstreamUrl);
  else throw new Error(`usage: proxy-bench-peer-main.js upstream | canned-upstream | http-proxy <upstream-url> (got ${process.argv.slice(2).join(' ') || 'nothing'})`);
  // Stop when told to, or when the parent dies without telling us.
  const stop = () => void peer.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('disconnect', stop);
  answerStats(startPeerStats(null, []));
  announceReady(peer.url);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
