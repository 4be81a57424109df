import { describe, expect, it } from 'vitest';
import { headerPairs, headersOf } from '../../../src/shadow/raw-headers.js';

describe('header pairs', () => {
  it('turns wire pairs into lower-case fields, a repeated field into an array in order', () => {
    const pairs = ['Content-Type', 'application/json', 'Set-Cookie', 'a=1', 'X-One', 'x', 'set-cookie', 'b=2', 'SET-COOKIE', 'c=3'];
    expect(headersOf(pairs)).toEqual({ 'content-type': 'application/json', 'set-cookie': ['a=1', 'b=2', 'c=3'], 'x-one': 'x' });
  });

  it('reads Buffer pairs as Latin-1', () => {
    expect(headersOf([Buffer.from('X-Name'), Buffer.from([0x63, 0x61, 0x66, 0xe9])])).toEqual({ 'x-name': 'café' });
  });

  it('turns an object back into pairs: one pair per array value, numbers as text, undefined left out', () => {
    const pairs = headerPairs({ 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'], 'content-length': 12, 'x-gone': undefined });
    expect(pairs).toEqual(['content-type', 'text/plain', 'set-cookie', 'a=1', 'set-cookie', 'b=2', 'content-length', '12']);
    expect(headersOf(pairs)).toEqual({ 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'], 'content-length': '12' });
  });
});
