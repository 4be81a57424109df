import { describe, expect, it } from 'vitest';
import { isSchemaError, isTransientDbError } from '../../../../src/cdc/sink/db-errors.js';

const pgError = (code: string) => Object.assign(new Error(`sqlstate ${code}`), { code });

describe('sink error classes', () => {
  it('retries connection, conflict and server-state errors, not data or schema errors', () => {
    for (const code of ['08006', '40001', '40P01', '57P01', '53300', 'ECONNREFUSED', 'ECONNRESET']) expect(isTransientDbError(pgError(code)), code).toBe(true);
    expect(isTransientDbError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isTransientDbError(Object.assign(new Error('pool'), { name: 'KnexTimeoutError' }))).toBe(true);
    for (const code of ['22003', '22P02', '23505', '23502', '42703']) expect(isTransientDbError(pgError(code)), code).toBe(false);
    expect(isTransientDbError(null)).toBe(false);
  });

  it('tells schema errors (class 42) from data errors', () => {
    expect(isSchemaError(pgError('42703'))).toBe(true);
    expect(isSchemaError(pgError('42P10'))).toBe(true);
    expect(isSchemaError(pgError('22003'))).toBe(false);
    expect(isSchemaError(new Error('no code'))).toBe(false);
  });
});
