import { describe, expect, it } from 'vitest';
import { readServiceEnv, waitForDatabase } from '../../../examples/shared/service-env.js';
import { LOCAL_PG } from './fresh-database.js';

describe('readServiceEnv (the main.ts entries)', () => {
  const defaults = { port: 3000, host: '0.0.0.0' };

  it('reads DATABASE_URL, PORT and HOST, with defaults for the last two', () => {
    expect(readServiceEnv({ DATABASE_URL: 'postgres://db/legacy' }, defaults)).toEqual({ ok: true, value: { databaseUrl: 'postgres://db/legacy', port: 3000, host: '0.0.0.0' } });
    expect(readServiceEnv({ DATABASE_URL: 'postgresql://db/u', PORT: '8080', HOST: '127.0.0.1' }, defaults)).toEqual({ ok: true, value: { databaseUrl: 'postgresql://db/u', port: 8080, host: '127.0.0.1' } });
  });

  it('lists every problem at once', () => {
    expect(readServiceEnv({ PORT: '70000' }, defaults)).toEqual({
      ok: false,
      problems: ['DATABASE_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/legacy)', 'PORT must be a whole number between 0 and 65535, got "70000"'],
    });
    expect(readServiceEnv({ DATABASE_URL: 'mysql://x', PORT: 'abc' }, defaults)).toEqual({
      ok: false,
      problems: ['DATABASE_URL must start with postgres:// or postgresql://, got "mysql://x"', 'PORT must be a whole number between 0 and 65535, got "abc"'],
    });
  });
});

describe('waitForDatabase', () => {
  it('returns once the database answers', async () => {
    const log: string[] = [];
    await waitForDatabase(`${LOCAL_PG}/test`, (m) => log.push(m));
    expect(log).toEqual([]);
  });

  it('does not retry an error that waiting cannot fix (an unknown role)', async () => {
    const log: string[] = [];
    await expect(waitForDatabase('postgres://no_such_role_ficus@127.0.0.1:5432/test', (m) => log.push(m))).rejects.toThrow('role "no_such_role_ficus" does not exist');
    expect(log).toEqual([]);
  });
});
