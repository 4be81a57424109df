/** A tiny fetch wrapper for the example-app tests: real HTTP, JSON in and out. */
export interface Envelope {
  data?: unknown;
  error?: { code: string; message: string; details?: { path: string; message: string }[] };
  request_id: string;
  server_time: string;
}

export interface Reply {
  status: number;
  headers: Headers;
  body: Envelope;
}

export async function call(method: string, url: string, body?: unknown, init: { rawBody?: string; contentType?: string } = {}): Promise<Reply> {
  const headers: Record<string, string> = {};
  let payload: string | undefined;
  if (init.rawBody !== undefined) {
    payload = init.rawBody;
    headers['content-type'] = init.contentType ?? 'application/json';
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(url, { method, headers, body: payload });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text === '' ? {} : JSON.parse(text)) as Envelope };
}
