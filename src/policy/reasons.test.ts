import { describe, expect, it } from 'vitest';
import { DENY_REASONS, isDenyReason, mostImportantReason } from './reasons.ts';

describe('deny reasons', () => {
  it('ranks the documented order', () => {
    expect(DENY_REASONS).toEqual([
      'actor_unknown',
      'actor_suspended',
      'canary',
      'no_purpose',
      'purpose_not_linked',
      'case_closed',
      'field_not_allowed',
      'budget_exceeded',
      'separation_of_duties',
      'not_permitted',
    ]);
  });

  it('reports the most important of several, whatever their order', () => {
    expect(mostImportantReason(['field_not_allowed', 'canary', 'case_closed'])).toBe('canary');
    expect(mostImportantReason(['case_closed', 'purpose_not_linked'])).toBe('purpose_not_linked');
    expect(mostImportantReason([])).toBe('not_permitted');
  });

  it('recognises only the closed set', () => {
    expect(isDenyReason('canary')).toBe(true);
    expect(isDenyReason('vip')).toBe(false);
    expect(isDenyReason('toString')).toBe(false);
  });
});
