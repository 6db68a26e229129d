import { describe, expect, it } from 'vitest';
import { denied } from './decision-log.ts';

describe('refusal messages', () => {
  it('a separation-of-duties refusal speaks of alerts and incidents too, not only of roles and cases', () => {
    const { message, reason } = denied('separation_of_duties');
    expect(reason).toBe('separation_of_duties');
    for (const word of ['role', 'cases', 'alerts', 'risk', 'incidents']) expect(message).toContain(word);
  });
});
