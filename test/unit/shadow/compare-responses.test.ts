import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { bodyKindOf, decodeBody } from '../../../src/shadow/compare/body-kind.js';
import { compareResponses } from '../../../src/shadow/compare/compare-responses.js';
import { compileShadowPolicy } from '../../../src/shadow/shadow-policy.js';

const json = (status: number, body: unknown, extra: Record<string, string> = {}) => ({
  status,
  headers: { 'content-type': 'application/json; charset=utf-8', ...extra },
  body: Buffer.from(JSON.stringify(body)),
});

describe('compareResponses', () => {
  const policy = compileShadowPolicy({ compare: { headers: ['content-type', 'cache-control'] } });

  it('compares status, listed headers and the JSON body structurally', () => {
    const r = compareResponses(json(200, { a: 1 }, { 'cache-control': 'no-store', 'x-other': '1' }), json(500, { a: 2 }, { 'x-other': '2' }), policy);
    expect(r.ok && r.diffs).toEqual([
      { path: 'status', field: 'status', kind: 'changed', primary: 200, candidate: 500 },
      { path: 'headers.cache-control', field: 'headers.cache-control', kind: 'missing', primary: 'no-store', candidate: null },
      { path: '$.a', field: '$.a', kind: 'changed', primary: 1, candidate: 2 },
    ]);
  });

  it('compares text by normalized whitespace', () => {
    const text = (s: string) => ({ status: 200, headers: { 'content-type': 'text/html' }, body: Buffer.from(s) });
    expect(compareResponses(text('<p>hello\n   world</p>\n'), text('<p>hello world</p>'), policy)).toEqual({ ok: true, diffs: [] });
    const r = compareResponses(text('<p>hello world</p>'), text('<p>hello there</p>'), policy);
    expect(r.ok && r.diffs.map((d) => [d.path, d.kind])).toEqual([['body', 'changed']]);
  });

  it('compares binary bodies by sha256', () => {
    const bin = (b: number[]) => ({ status: 200, headers: { 'content-type': 'image/png' }, body: Buffer.from(b) });
    expect(compareResponses(bin([1, 2, 3]), bin([1, 2, 3]), policy)).toEqual({ ok: true, diffs: [] });
    const r = compareResponses(bin([1, 2, 3]), bin([1, 2, 4]), policy);
    expect(r.ok && String(r.diffs[0].primary)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('falls back to text when a JSON body does not parse (an HTML error page)', () => {
    const html = { status: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, body: Buffer.from('<html>oops</html>') };
    const r = compareResponses(json(200, { a: 1 }), html, compileShadowPolicy({}));
    expect(r.ok && r.diffs.map((d) => d.path)).toEqual(['body']);
  });

  it('decodes content-encoding before comparing, bounded by maxBodyBytes', () => {
    const gz = { status: 200, headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: gzipSync(JSON.stringify({ a: 1 })) };
    expect(compareResponses(json(200, { a: 1 }), gz, compileShadowPolicy({ compare: { headers: [] } }))).toEqual({ ok: true, diffs: [] });
    const bomb = gzipSync(Buffer.alloc(100_000));
    expect(decodeBody(bomb, 'gzip', 1000)).toEqual({ ok: false, reason: 'too-large' });
    expect(compareResponses({ ...gz, body: bomb }, gz, compileShadowPolicy({ maxBodyBytes: 1000 }))).toEqual({ ok: false, reason: 'too-large' });
  });

  it('chooses the body kind from the content type', () => {
    expect(bodyKindOf('application/problem+json')).toBe('json');
    expect(bodyKindOf('text/plain; charset=utf-8')).toBe('text');
    expect(bodyKindOf('application/xml')).toBe('text');
    expect(bodyKindOf('application/octet-stream')).toBe('binary');
  });
});
