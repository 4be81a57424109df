import { describe, expect, it } from 'vitest';
import { BUCKETS, bucketOf, bucketSeed } from '../../../../src/flags/local/bucketing.js';
import type { FlagsFileConfig, LocalFlagConfig } from '../../../../src/flags/local/flags-file-schema.js';
import type { FlagOverride } from '../../../../src/flags/local/local-flag-model.js';
import { applyOverrides, compileFlagsFile, describeFlags, evaluateLocal } from '../../../../src/flags/local/local-flag-model.js';
import { userContext } from '../../../helpers/flags-test-helpers.js';

const USERS = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);

function model(flags: Record<string, LocalFlagConfig>) {
  return compileFlagsFile({ flags } as FlagsFileConfig);
}

function cohort(flags: Record<string, LocalFlagConfig>, key = 'orders-migration'): Set<string> {
  const m = model(flags);
  return new Set(USERS.filter((u) => evaluateLocal(m, key, userContext(u)).value === 'true'));
}

describe('bucketing', () => {
  it('puts a key in the same bucket every time and spreads sequential keys evenly', () => {
    const seed = bucketSeed('orders-migration');
    expect(bucketOf(seed, 'user-42')).toBe(bucketOf(bucketSeed('orders-migration'), 'user-42'));
    // Ten equal ranges of the bucket space each get 10% ± 1.5% of 10k sequential keys.
    const deciles = new Array<number>(10).fill(0);
    for (const u of USERS) deciles[Math.floor((bucketOf(seed, u) / BUCKETS) * 10)]++;
    for (const d of deciles) expect(Math.abs(d - 1000)).toBeLessThan(150);
  });

  it('depends on the salt, so two flags do not share a cohort', () => {
    const a = bucketSeed('flag-a');
    const b = bucketSeed('flag-b');
    const same = USERS.filter((u) => bucketOf(a, u) < 20_000 === bucketOf(b, u) < 20_000).length;
    // Independent 20% cohorts agree on ~0.2*0.2 + 0.8*0.8 = 68% of keys, not 100%.
    expect(same / USERS.length).toBeGreaterThan(0.64);
    expect(same / USERS.length).toBeLessThan(0.72);
  });
});

describe('local flag evaluation', () => {
  it('sends 20% ± 2% of 10k distinct users to the new variation, each consistently', () => {
    const first = cohort({ 'orders-migration': { rollout: 20 } });
    expect(first.size).toBeGreaterThanOrEqual(1800);
    expect(first.size).toBeLessThanOrEqual(2200);
    // A fresh compile (as after a restart or reload) puts every user in the same place.
    expect(cohort({ 'orders-migration': { rollout: 20 } })).toEqual(first);
  });

  it('keeps the first 20% when the rollout is raised to 50%, and only adds users', () => {
    const at20 = cohort({ 'orders-migration': { rollout: 20 } });
    const at50 = cohort({ 'orders-migration': { rollout: 50 } });
    expect(at50.size).toBeGreaterThanOrEqual(4800);
    expect(at50.size).toBeLessThanOrEqual(5200);
    expect([...at20].filter((u) => !at50.has(u))).toEqual([]);
  });

  it('reshuffles the cohort when the salt changes', () => {
    const a = cohort({ 'orders-migration': { rollout: 20 } });
    const b = cohort({ 'orders-migration': { rollout: 20, salt: 'second-try' } });
    const overlap = [...a].filter((u) => b.has(u)).length;
    expect(overlap).toBeLessThan(a.size * 0.3);
  });

  it('serves 0% and 100% exactly, and honours 0.001% resolution', () => {
    expect(cohort({ 'orders-migration': { rollout: 0 } }).size).toBe(0);
    expect(cohort({ 'orders-migration': { rollout: 100 } }).size).toBe(USERS.length);
    expect(cohort({ 'orders-migration': {} }).size).toBe(USERS.length); // no rollout = everyone
    const fine = cohort({ 'orders-migration': { rollout: 12.345 } }).size;
    expect(fine).toBeGreaterThan(1100);
    expect(fine).toBeLessThan(1370);
  });

  it('serves offVariation to everyone when off, falling back to fallthrough', () => {
    const m = model({
      a: { on: false, rollout: 100 },
      b: { on: false, variations: ['legacy', 'shadow', 'live', 'migrated'], variation: 'live', fallthrough: 'legacy', offVariation: 'shadow' },
    });
    expect(evaluateLocal(m, 'a', userContext('u1'))).toEqual({ value: 'false', reason: 'evaluated' });
    expect(evaluateLocal(m, 'b', userContext('u1'))).toEqual({ value: 'shadow', reason: 'evaluated' });
  });

  it('checks the deny list before the allow list, by key or by attribute value', () => {
    const m = model({
      f: {
        rollout: 0,
        allow: { keys: ['alice', 'mallory'], attributes: { tenant: ['acme', 'globex'] } },
        deny: { keys: ['mallory'], attributes: { plan: 'free' } },
      },
    });
    const v = (key: string, attrs: Record<string, string | null> = {}) => evaluateLocal(m, 'f', userContext(key, attrs)).value;
    expect(v('alice')).toBe('true');
    expect(v('bob')).toBe('false');
    expect(v('bob', { tenant: 'acme' })).toBe('true');
    expect(v('bob', { tenant: 'initech' })).toBe('false');
    expect(v('bob', { tenant: null })).toBe('false');
    expect(v('mallory')).toBe('false'); // on both lists: deny wins
    expect(v('alice', { plan: 'free' })).toBe('false');
  });

  it('walks a route through migration modes with one flag: the slice moves from shadow to live', () => {
    const base: LocalFlagConfig = { variations: ['legacy', 'shadow', 'live', 'migrated'], variation: 'shadow', fallthrough: 'legacy', rollout: 20 };
    const shadow = model({ orders: base });
    const live = model({ orders: { ...base, variation: 'live' } });
    const inShadow = USERS.filter((u) => evaluateLocal(shadow, 'orders', userContext(u)).value === 'shadow');
    const inLive = USERS.filter((u) => evaluateLocal(live, 'orders', userContext(u)).value === 'live');
    expect(inLive).toEqual(inShadow);
    expect(evaluateLocal(live, 'orders', userContext(USERS.find((u) => !inLive.includes(u))!)).value).toBe('legacy');
  });

  it('reports an unknown flag and a missing context key as reasons, not values', () => {
    const m = model({ f: {} });
    expect(evaluateLocal(m, 'nope', userContext('u1'))).toEqual({ value: null, reason: 'flag-unknown' });
    expect(evaluateLocal(m, 'f', userContext(null))).toEqual({ value: null, reason: 'context-key-missing' });
    expect(evaluateLocal(m, 'f', userContext(''))).toEqual({ value: null, reason: 'context-key-missing' });
  });

  it('returns the same preallocated result object on every evaluation (no per-request allocation)', () => {
    const m = model({ f: { rollout: 50 } });
    const a = evaluateLocal(m, 'f', userContext('user-1'));
    expect(evaluateLocal(m, 'f', userContext('user-1'))).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
  });
});

describe('overrides', () => {
  const file = model({
    orders: { variations: ['legacy', 'shadow', 'live'], variation: 'shadow', fallthrough: 'legacy', rollout: 20 },
    simple: { rollout: 20 },
  });
  const apply = (o: Record<string, FlagOverride>) => applyOverrides(file, new Map(Object.entries(o)));

  it('replaces only the fields they name and keeps the cohort (same seed)', () => {
    const { model: m, problems } = apply({ orders: { variation: 'live', rollout: 50 } });
    expect(problems).toEqual([]);
    const before = USERS.filter((u) => evaluateLocal(file, 'orders', userContext(u)).value === 'shadow');
    const after = new Set(USERS.filter((u) => evaluateLocal(m, 'orders', userContext(u)).value === 'live'));
    expect(before.every((u) => after.has(u))).toBe(true);
    expect(after.size).toBeGreaterThan(4800);
    expect(m.flags.get('orders')!.override).toEqual({ variation: 'live', rollout: 50 });
    expect(evaluateLocal(apply({ simple: { on: false } }).model, 'simple', userContext('user-1')).value).toBe('false');
  });

  it('are shown with the effective values by describeFlags', () => {
    const m = model({ f: { rollout: 20, allow: { keys: ['a'], attributes: { tenant: 'acme' } } } });
    const { model: o } = applyOverrides(m, new Map([['f', { rollout: 50 }]]));
    expect(describeFlags(o)).toEqual([{
      key: 'f', description: null, on: true, variations: ['true', 'false'], variation: 'true', fallthrough: 'false', offVariation: 'false',
      rollout: 50, allow: { keys: ['a'], attributes: { tenant: ['acme'] } }, deny: null, override: { rollout: 50 },
    }]);
  });

  it('skips overrides for unknown flags or unknown variations and says why', () => {
    const { model: m, problems } = apply({ ghost: { on: false }, orders: { variation: 'migrated' } });
    expect(problems).toEqual([
      'override for flag "ghost" ignored: the flags file has no such flag',
      'override for flag "orders" ignored: variation "migrated" is not one of its variations (legacy, shadow, live)',
    ]);
    expect(m.flags.get('orders')).toBe(file.flags.get('orders'));
  });
});
