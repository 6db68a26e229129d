import { describe, expect, it } from 'vitest';
import { assignmentsOf, changeOf } from './manage.ts';

describe('change summaries', () => {
  it('lists exactly the attributes that differ, absent counting as null', () => {
    expect(changeOf({ role: 'agent', team: 'a', manager: null }, { role: 'supervisor', team: 'a', manager: 'sup-1' })).toEqual({
      role: { before: 'agent', after: 'supervisor' },
      manager: { before: null, after: 'sup-1' },
    });
    expect(changeOf(undefined, { kind: 'refund', closedAt: null })).toEqual({ kind: { before: null, after: 'refund' } });
    expect(changeOf({ country: 'IT' }, undefined)).toEqual({ country: { before: 'IT', after: null } });
    expect(changeOf({ kind: 'x' }, { kind: 'x' })).toEqual({});
  });
});

describe('assignment periods', () => {
  it('starts one at each open and reassign and ends the one before; close and reopen keep the assignee', () => {
    expect(
      assignmentsOf([
        { at: 't1', operation: 'open', employee: 'a' },
        { at: 't2', operation: 'close', employee: 'a' },
        { at: 't3', operation: 'reopen', employee: 'a' },
        { at: 't4', operation: 'reassign', employee: 'b' },
        { at: 't5', operation: 'reassign', employee: 'c' },
      ]),
    ).toEqual([
      { employee: 'a', from: 't1', to: 't4' },
      { employee: 'b', from: 't4', to: 't5' },
      { employee: 'c', from: 't5' },
    ]);
  });
});
