import { describe, expect, it } from 'vitest';
import type { AccessEvent } from '../model.ts';
import { caseStateAt, unjustifiedAccess, type CaseHistoryRecord } from './case-history.ts';

const history: CaseHistoryRecord = {
  customer: 'c-1',
  acts: [
    { at: '2026-03-01T09:00:00.000Z', operation: 'open', employee: 'e-1' },
    { at: '2026-03-02T09:00:00.000Z', operation: 'reassign', employee: 'e-2' },
    { at: '2026-03-03T09:00:00.000Z', operation: 'close', employee: 'e-2' },
    { at: '2026-03-04T09:00:00.000Z', operation: 'reopen', employee: 'e-2' },
  ],
};

const reveal = (actor: string, time: string, purpose?: string, customer = 'c-1'): AccessEvent => ({
  id: 'x', time, actor, action: 'reveal', customers: [customer], fields: ['email'], decision: 'allow', ...(purpose ? { purpose: { kind: 'case', ref: purpose } } : {}),
});

describe('whether a purpose justified an access at its time', () => {
  it('follows the case through reassignment, closing and reopening', () => {
    expect(caseStateAt(history, Date.parse('2026-02-28T00:00:00Z'))).toBeUndefined();
    expect(caseStateAt(history, Date.parse('2026-03-01T12:00:00Z'))).toEqual({ employee: 'e-1', open: true });
    expect(caseStateAt(history, Date.parse('2026-03-02T12:00:00Z'))).toEqual({ employee: 'e-2', open: true });
    expect(caseStateAt(history, Date.parse('2026-03-03T12:00:00Z'))).toEqual({ employee: 'e-2', open: false });
    expect(caseStateAt(history, Date.parse('2026-03-04T12:00:00Z'))).toEqual({ employee: 'e-2', open: true });
  });

  it('names why an access had no valid purpose, judged at the event and not now', () => {
    // e-1 held the case on the 1st: justified then, though it is e-2's now.
    expect(unjustifiedAccess(reveal('e-1', '2026-03-01T12:00:00Z', 'k-1'), 'c-1', history)).toBeUndefined();
    expect(unjustifiedAccess(reveal('e-1', '2026-03-02T12:00:00Z', 'k-1'), 'c-1', history)).toBe('purpose_not_linked');
    expect(unjustifiedAccess(reveal('e-2', '2026-03-03T12:00:00Z', 'k-1'), 'c-1', history)).toBe('case_closed');
    expect(unjustifiedAccess(reveal('e-2', '2026-03-04T12:00:00Z', 'k-1'), 'c-1', history)).toBeUndefined();
    expect(unjustifiedAccess(reveal('e-1', '2026-02-28T12:00:00Z', 'k-1'), 'c-1', history)).toBe('case_closed');
    expect(unjustifiedAccess(reveal('e-2', '2026-03-04T12:00:00Z', 'k-1', 'c-2'), 'c-2', history)).toBe('purpose_not_linked');
    expect(unjustifiedAccess(reveal('e-2', '2026-03-04T12:00:00Z'), 'c-1', history)).toBe('no_purpose');
    expect(unjustifiedAccess(reveal('e-2', '2026-03-04T12:00:00Z', 'k-9'), 'c-1', undefined)).toBe('purpose_not_linked');
  });
});
