import { describe, expect, it } from 'vitest';
import { aliasOf } from './alias.ts';

const employees = (n: number) => Array.from({ length: n }, (_, i) => `emp-${String(i + 1).padStart(6, '0')}`);

describe('aliases', () => {
  it('are stable for a key and differ between keys', () => {
    expect(aliasOf('emp-1')).toBe(aliasOf('emp-1'));
    expect(aliasOf('emp-1', 'another key')).not.toBe(aliasOf('emp-1'));
    // What analysts wrote down yesterday still names the same person today.
    expect(aliasOf('emp-0001')).toBe('teal-tarsier-1578-5693');
  });

  it('read as two words and two four-digit numbers', () => {
    for (const employee of employees(200)) expect(aliasOf(employee)).toMatch(/^[a-z]+-[a-z]+-[1-9]\d{3}-[1-9]\d{3}$/);
  });

  it('give 100,000 employees 100,000 aliases, whatever the key', () => {
    const ids = employees(100_000);
    for (const key of [undefined, 'another key']) expect(new Set(ids.map((e) => aliasOf(e, key))).size).toBe(ids.length);
  });
});
