import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS, FicusError, ficusError, isRetriable } from '../../src/errors.js';

describe('error registry', () => {
  it('documents every error code in README.md', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const missing = Object.keys(ERRORS).filter((code) => !readme.includes(`\`${code}\``));
    expect(missing).toEqual([]);
  });

  it('renders the message template with its arguments and keeps code, status and retriability', () => {
    const err = ficusError('FICUS_ERR_UPSTREAM_TIMEOUT', 'users');
    expect(err).toBeInstanceOf(FicusError);
    expect(err.message).toBe('upstream users did not answer in time');
    expect(err.status).toBe(504);
    expect(isRetriable(err)).toBe(true);
    expect(isRetriable(ficusError('FICUS_ERR_RULES_INVALID', 'x'))).toBe(false);
    expect(isRetriable(new Error('plain'))).toBe(false);
  });
});
