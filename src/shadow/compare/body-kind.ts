import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';

export type BodyKind = 'json' | 'text' | 'binary';

/** Content-type driven: JSON (application/json, *+json), text (text/*, xml, js, forms), else binary. */
export function bodyKindOf(contentType: string | undefined): BodyKind {
  if (!contentType) return 'text';
  const ct = contentType.toLowerCase();
  const semi = ct.indexOf(';');
  const mime = (semi < 0 ? ct : ct.slice(0, semi)).trim();
  if (mime === 'application/json' || mime.endsWith('+json')) return 'json';
  if (
    mime.startsWith('text/') ||
    mime.endsWith('+xml') ||
    mime === 'application/xml' ||
    mime === 'application/javascript' ||
    mime === 'application/x-www-form-urlencoded'
  ) {
    return 'text';
  }
  return 'binary';
}

export type Decoded = { readonly ok: true; readonly body: Buffer } | { readonly ok: false; readonly reason: 'too-large' | 'bad-encoding' };

/**
 * Undoes Content-Encoding before comparing, so a gzip from one side and identity from the other
 * compare by content. `maxOutputLength` bounds a decompression bomb to the route's maxBodyBytes.
 */
export function decodeBody(body: Buffer, contentEncoding: string | undefined, maxBytes: number): Decoded {
  const enc = (contentEncoding ?? '').trim().toLowerCase();
  if (enc === '' || enc === 'identity' || body.length === 0) return { ok: true, body };
  try {
    const opts = { maxOutputLength: Math.max(1, maxBytes) };
    if (enc === 'gzip' || enc === 'x-gzip') return { ok: true, body: gunzipSync(body, opts) };
    if (enc === 'deflate') return { ok: true, body: inflateSync(body, opts) };
    if (enc === 'br') return { ok: true, body: brotliDecompressSync(body, opts) };
    return { ok: false, reason: 'bad-encoding' };
  } catch (err) {
    return { ok: false, reason: (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' ? 'too-large' : 'bad-encoding' };
  }
}
