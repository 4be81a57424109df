/** Methods whose request has a body by definition: a copy without one still says `content-length: 0`. */
const PAYLOAD_METHODS = new Set(['POST', 'PUT', 'PATCH']);
const BAD_VALUE = /[\r\n\0]/;
const BAD_TARGET = /[\s\0]/;

/**
 * The request line and header section of a copy (RFC 9112 §3), as latin1 text for the socket. The
 * field values are those Node parsed from the client's request (latin1 strings, one char per byte),
 * so writing them as latin1 sends the client's bytes. Returns null when the target or a value holds
 * a character that would break the message framing; the copy is then not sent.
 */
export function requestHead(method: string, path: string, host: string, headers: Readonly<Record<string, string | readonly string[]>>, body: Buffer | null): string | null {
  if (path.length === 0 || BAD_TARGET.test(path)) return null;
  let head = `${method} ${path} HTTP/1.1\r\nhost: ${host}\r\n`;
  for (const name in headers) {
    const value = headers[name];
    if (typeof value === 'string') {
      if (BAD_VALUE.test(value)) return null;
      head += `${name}: ${value}\r\n`;
    } else {
      for (const v of value) {
        if (BAD_VALUE.test(v)) return null;
        head += `${name}: ${v}\r\n`;
      }
    }
  }
  if (body !== null) head += `content-length: ${body.length}\r\n`;
  else if (PAYLOAD_METHODS.has(method)) head += 'content-length: 0\r\n';
  return head + '\r\n';
}
