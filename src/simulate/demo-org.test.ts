import { describe, expect, it } from 'vitest';
import { validPhone } from '../model.ts';
import { maskPhone } from '../vault/mask.ts';
import { demoCustomer } from './demo-org.ts';

describe('demo customers', () => {
  it('have valid phone numbers whose masked digits do not follow from the country or the visible ones', () => {
    const hiddenByCountry = new Map<string, Set<string>>();
    const count = 1000;
    for (let i = 1; i <= count; i++) {
      const c = demoCustomer(i);
      expect(validPhone(c.phone), c.phone).toBe(c.phone);
      const mask = maskPhone(c.phone);
      const code = /^\+(\d+) /.exec(mask)![1]!;
      // What the mask hides: the national number but its last four digits.
      const hidden = c.phone.slice(1 + code.length, -4);
      if (!hiddenByCountry.has(c.country)) hiddenByCountry.set(c.country, new Set());
      hiddenByCountry.get(c.country)!.add(hidden);
    }
    for (const [country, hidden] of hiddenByCountry) {
      // ~100 customers per country: nearly every one hides different digits.
      expect(hidden.size, country).toBeGreaterThan((0.9 * count) / hiddenByCountry.size);
    }
  });

  it('are the same for the same index', () => {
    expect(demoCustomer(42)).toEqual(demoCustomer(42));
  });
});
