import { describe, expect, it } from 'vitest';
import type { DiffEntry } from '../../../src/shadow/compare/diff-entry.js';
import { REDACTED, Redactor } from '../../../src/shadow/record/redactor.js';
import { compileShadowPolicy } from '../../../src/shadow/shadow-policy.js';

const policy = compileShadowPolicy({ redact: ['headers.x-api-key', '$.password', '$.**.token'] });

describe('Redactor', () => {
  it('redacts configured and credential headers by name', () => {
    const r = new Redactor(policy);
    expect(r.headers({ Authorization: 'Bearer s3cr3t-token', cookie: 'sid=abcdef', 'x-api-key': 'k-12345', accept: 'x' })).toEqual({
      authorization: REDACTED, cookie: REDACTED, 'x-api-key': REDACTED, accept: 'x',
    });
  });

  it('redacts JSON paths by glob and truncates bodies', () => {
    const r = new Redactor(policy);
    const body = r.body(Buffer.from(JSON.stringify({ user: 'ann', password: 'hunter22', nested: { token: 'tok-999' } })), { 'content-type': 'application/json' });
    expect(JSON.parse(body)).toEqual({ user: 'ann', password: REDACTED, nested: { token: REDACTED } });
    const short = new Redactor(compileShadowPolicy({ sampleBodyBytes: 64 }));
    const long = short.body(Buffer.from('x'.repeat(200)), { 'content-type': 'text/plain' });
    expect(long).toBe(`${'x'.repeat(64)}…[truncated 136 chars]`);
    expect(r.body(Buffer.from([0, 1, 2]), { 'content-type': 'image/png' })).toMatch(/^<binary 3 bytes sha256:/);
  });

  it('redacts form bodies by key', () => {
    const r = new Redactor(policy);
    expect(r.body(Buffer.from('user=ann&password=hunter22'), { 'content-type': 'application/x-www-form-urlencoded' })).toBe(`user=ann&password=${encodeURIComponent(REDACTED)}`);
  });

  it('redacts diff values at and below redacted paths', () => {
    const r = new Redactor(policy);
    const diffs: DiffEntry[] = [
      { path: '$.password', field: '$.password', kind: 'changed', primary: 'hunter22', candidate: 'hunter23' },
      { path: '$.user', field: '$.user', kind: 'missing', primary: { name: 'a', token: 'tok-1' }, candidate: null },
      { path: 'headers.x-api-key', field: 'headers.x-api-key', kind: 'changed', primary: 'k1', candidate: 'k2' },
    ];
    expect(r.diffs(diffs).map((d) => [d.primary, d.candidate])).toEqual([
      [REDACTED, REDACTED], [{ name: 'a', token: REDACTED }, null], [REDACTED, REDACTED],
    ]);
  });

  it('scrubs a redacted secret wherever else it appears (an echoing text page)', () => {
    const r = new Redactor(policy);
    const req = r.body(Buffer.from(JSON.stringify({ password: 'hunter22' })), { 'content-type': 'application/json' });
    const page = r.body(Buffer.from('<p>bad password hunter22</p>'), { 'content-type': 'text/html' });
    const auth = r.headers({ authorization: 'Bearer s3cr3t-token' });
    const echoed = r.body(Buffer.from('token was s3cr3t-token'), { 'content-type': 'text/plain' });
    const sealed = r.seal({ req, page, auth, echoed });
    expect(JSON.stringify(sealed)).not.toContain('hunter22');
    expect(JSON.stringify(sealed)).not.toContain('s3cr3t-token');
    expect(sealed.page).toBe(`<p>bad password ${REDACTED}</p>`);
  });
});
