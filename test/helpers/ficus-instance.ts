import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FicusHandle, StartOptions } from '../../src/main.js';
import { startFicus } from '../../src/main.js';
import { createLogger } from '../../src/observability/logger.js';

export interface TestFicus extends FicusHandle {
  readonly url: string;
  readonly adminUrl: string;
  readonly rulesFile: string;
  /** every JSON log line written so far */
  readonly logs: Record<string, unknown>[];
  writeRules(text: string): void;
}

/** Writes `rules` to a fresh temp file and starts ficus on port 0 with logs captured in memory. */
export async function startTestFicus(rules: string, options: Partial<StartOptions> = {}): Promise<TestFicus> {
  const dir = mkdtempSync(join(tmpdir(), 'ficus-test-'));
  const rulesFile = join(dir, 'rules.yaml');
  writeFileSync(rulesFile, rules);
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const logger = createLogger({ level: 'info', destination: sink });
  const handle = await startFicus({ rulesFile, port: 0, adminPort: 0, logger, ...options });
  return {
    ...handle,
    url: `http://127.0.0.1:${handle.port}`,
    adminUrl: `http://127.0.0.1:${handle.adminPort}`,
    rulesFile,
    logs,
    writeRules: (text: string) => writeFileSync(rulesFile, text),
  };
}
