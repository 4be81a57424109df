import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import type { TestServer } from '../../helpers/http-servers.js';
import { startServer } from '../../helpers/http-servers.js';
import type { TestFicus } from '../../helpers/ficus-instance.js';
import { startTestFicus } from '../../helpers/ficus-instance.js';

const MB = 1024 * 1024;
const SIZE = 200 * MB;
const CHUNK = Buffer.alloc(64 * 1024, 0x61);

/** A readable of `total` bytes generated on demand, never held in memory. */
function generated(total: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      const n = Math.min(CHUNK.length, total - sent);
      sent += n;
      this.push(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n));
    },
  });
}

let upstream: TestServer;
let ficus: TestFicus;
let peakRss = 0;
const sample = () => (peakRss = Math.max(peakRss, process.memoryUsage().rss));

beforeAll(async () => {
  upstream = await startServer((req, res) => {
    if (req.url === '/download') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': SIZE });
      void pipeline(generated(SIZE), res).catch(() => {});
      return;
    }
    let bytes = 0;
    req.on('data', (c: Buffer) => {
      bytes += c.length;
      sample();
    });
    req.on('end', () => res.end(JSON.stringify({ bytes })));
  });
  ficus = await startTestFicus(`
version: 1
upstreams: { svc: { url: ${upstream.url} } }
default: svc
`, { accessLog: false });
});

afterAll(async () => {
  await ficus.close();
  await upstream.close();
});

describe('bodies stream without buffering', () => {
  it('passes a 200 MB upload and a 200 MB download with flat memory', { timeout: 120_000 }, async () => {
    global.gc?.();
    const base = process.memoryUsage().rss;
    peakRss = base;
    // Collect garbage while sampling: RSS then follows live memory (what buffering would grow), not
    // how far the collector happens to lag behind on a busy machine.
    let ticks = 0;
    const timer = setInterval(() => {
      if (++ticks % 5 === 0) global.gc?.();
      sample();
    }, 20);
    try {
      // upload, chunked
      const uploaded = await new Promise<number>((resolve, reject) => {
        const req = httpRequest(`${ficus.url}/upload`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' } }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c));
          res.on('end', () => resolve((JSON.parse(text) as { bytes: number }).bytes));
        });
        req.on('error', reject);
        generated(SIZE).pipe(req);
      });
      expect(uploaded).toBe(SIZE);

      // download, with a slow-ish consumer so backpressure has to hold
      let received = 0;
      await new Promise<void>((resolve, reject) => {
        httpRequest(`${ficus.url}/download`, (res) => {
          expect(res.headers['content-length']).toBe(String(SIZE));
          void pipeline(
            res,
            new Writable({
              highWaterMark: 16 * 1024,
              write(chunk: Buffer, _e, cb) {
                received += chunk.length;
                sample();
                setImmediate(cb);
              },
            }),
          ).then(resolve, reject);
        })
          .on('error', reject)
          .end();
      });
      expect(received).toBe(SIZE);
    } finally {
      clearInterval(timer);
    }
    // 400 MB went through client, proxy and upstream in this process; memory must not follow it.
    expect(peakRss - base).toBeLessThan(96 * MB);
  });
});
