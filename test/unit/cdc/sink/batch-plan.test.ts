import { describe, expect, it } from 'vitest';
import type { TableMapping } from '../../../../src/cdc/config/cdc-model.js';
import { UNAVAILABLE_VALUE } from '../../../../src/cdc/event/change-event.js';
import { canonicalKey, planBatch } from '../../../../src/cdc/sink/batch-plan.js';
import { change, deleteUser, tombstone, upsertUser } from '../../../helpers/cdc-change-events.js';

const users: TableMapping = {
  from: { schema: 'public', table: 'users' },
  to: { schema: 'svc', table: 'accounts' },
  columns: [{ from: 'id', to: 'account_id' }, { from: 'email', to: 'email' }, { from: 'name', to: 'name' }],
  keyColumns: ['id'],
  at: [],
};
const mappings = new Map([['public.users', users]]);

describe('planBatch', () => {
  it('keeps the last change per key, in the order of those last changes, with renamed columns', () => {
    const plan = planBatch([upsertUser(1, 'a', '0/10'), upsertUser(2, 'b', '0/10', 1), upsertUser(1, 'a2', '0/10', 2, 'u')], mappings);
    expect(plan.tables).toHaveLength(1);
    expect(plan.tables[0].target).toBe('svc.accounts');
    const changes = plan.tables[0].changes;
    expect(changes.map((c) => [c.rowKey, c.kind, c.position.seq])).toEqual([['[2]', 'upsert', 1], ['[1]', 'upsert', 2]]);
    expect(changes[1].kind === 'upsert' && Object.fromEntries(changes[1].values)).toEqual({ account_id: 1, email: 'a2', name: 'user 1' });
    expect(plan.maxPosition).toEqual({ lsn: '0/10', seq: 2 });
    expect(plan.eventCount).toBe(3);
  });

  it('drops tombstones but counts their position, and turns the last delete into a delete change', () => {
    const del = deleteUser(1, '0/20');
    const plan = planBatch([upsertUser(1, 'a', '0/10'), del, tombstone(del)], mappings);
    expect(plan.tables[0].changes.map((c) => c.kind)).toEqual(['delete']);
    expect(plan.maxPosition).toEqual({ lsn: '0/20', seq: 1 });
    expect(plan.eventCount).toBe(2);
  });

  it('treats a truncate as a barrier: earlier changes of the table vanish, later ones stay', () => {
    const plan = planBatch([upsertUser(1, 'a', '0/10'), change({ op: 't', lsn: '0/20' }), upsertUser(2, 'b', '0/30')], mappings);
    expect(plan.tables[0].truncate?.position).toEqual({ lsn: '0/20', seq: 0 });
    expect(plan.tables[0].changes.map((c) => c.rowKey)).toEqual(['[2]']);
  });

  it('fills a TOAST placeholder from an earlier change of the row in the batch, else leaves the column out', () => {
    const plan = planBatch([
      change({ op: 'c', key: { id: 1 }, after: { id: 1, email: 'a', name: 'long' }, lsn: '0/10' }),
      change({ op: 'u', key: { id: 1 }, after: { id: 1, email: 'b', name: UNAVAILABLE_VALUE }, lsn: '0/10', seq: 1 }),
      change({ op: 'u', key: { id: 2 }, after: { id: 2, email: 'c', name: [UNAVAILABLE_VALUE] }, lsn: '0/10', seq: 2 }),
    ], mappings);
    const [one, two] = plan.tables[0].changes;
    expect(one.kind === 'upsert' && Object.fromEntries(one.values)).toEqual({ account_id: 1, email: 'b', name: 'long' });
    expect(two.kind === 'upsert' && [...two.values.keys()].sort()).toEqual(['account_id', 'email']);
  });

  it('sets aside events it cannot apply (no key) and ignores tables it does not map', () => {
    const plan = planBatch([change({ op: 'c', key: null, after: { id: 1 }, lsn: '0/10' }), change({ op: 'c', table: 'orders', key: { id: 1 }, after: { id: 1 }, lsn: '0/10' })], mappings);
    expect(plan.rejected.map((r) => r.reason)).toEqual(['a c event without a key']);
    expect(plan.tables[0].changes).toEqual([]);
  });

  it('makes the same key for an int8 whether it arrives as number or bigint', () => {
    expect(canonicalKey([42])).toBe(canonicalKey([42n]));
    expect(canonicalKey([9_007_199_254_740_993n, 'x'])).toBe('[9007199254740993,"x"]');
  });
});
