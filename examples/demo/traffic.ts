import { Agent, request } from 'undici';

/**
 * The demo's client: reads users through the proxy the way logged-in visitors would, and tells who
 * answered from the body itself rather than from ficus's own metrics. The monolith's user always
 * carries `name` (possibly null); the users service does not own names and never sends one.
 */
export interface SeededUser {
  readonly id: string;
  readonly email: string;
}

export interface TrafficResult {
  readonly sent: number;
  readonly byAnswerer: { legacy: number; users: number; other: number };
  /** Requests whose user has an all-lower-case email: the ones a shadow comparison should match. */
  readonly lowerCaseEmails: number;
  readonly statuses: Record<string, number>;
}

export type Answerer = 'legacy' | 'users' | 'other';

export function answererOf(status: number, body: unknown): Answerer {
  const data = (body as { data?: unknown } | null)?.data;
  if (status !== 200 || data === null || typeof data !== 'object' || Array.isArray(data)) return 'other';
  return 'name' in data ? 'legacy' : 'users';
}

export class TrafficGenerator {
  private visitor = 0;
  private pick = 0;
  private readonly agent = new Agent({ connections: 32 });

  /** `users` are read round-robin; every request comes from a new visitor key (x-user-id). */
  constructor(private readonly proxyUrl: string, private readonly users: readonly SeededUser[]) {}

  /** Sends `count` GET /api/users/:id, `concurrency` at a time. */
  async reads(count: number, concurrency = 8): Promise<TrafficResult> {
    const byAnswerer = { legacy: 0, users: 0, other: 0 };
    const statuses: Record<string, number> = {};
    let lowerCaseEmails = 0;
    let next = 0;
    const worker = async () => {
      while (next < count) {
        next++;
        const user = this.users[this.pick++ % this.users.length];
        const visitor = `visitor-${++this.visitor}`;
        if (user.email === user.email.toLowerCase()) lowerCaseEmails++;
        const { status, body } = await this.get(`/api/users/${user.id}`, visitor);
        statuses[status] = (statuses[status] ?? 0) + 1;
        byAnswerer[answererOf(status, body)]++;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return { sent: count, byAnswerer, lowerCaseEmails, statuses };
  }

  async get(path: string, visitor = 'demo-visitor'): Promise<{ status: number; body: unknown }> {
    const r = await request(`${this.proxyUrl}${path}`, { headers: { 'x-user-id': visitor }, dispatcher: this.agent });
    const text = await r.body.text();
    return { status: r.statusCode, body: parseJson(text) };
  }

  async send(method: 'POST' | 'PUT' | 'DELETE', path: string, body: unknown): Promise<{ status: number; body: unknown }> {
    const r = await request(`${this.proxyUrl}${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), dispatcher: this.agent });
    return { status: r.statusCode, body: parseJson(await r.body.text()) };
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
