import { describe, expect, it } from 'vitest';
import { fillRandomIv } from './iv-pool.ts';

describe('fillRandomIv', () => {
  it('never hands out the same IV twice across many pool refills', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const iv = fillRandomIv(Buffer.alloc(12));
      const hex = iv.toString('hex');
      expect(hex).not.toBe('0'.repeat(24));
      expect(seen.has(hex)).toBe(false);
      seen.add(hex);
    }
  });

  it('fills a buffer larger than the pool directly', () => {
    const big = fillRandomIv(Buffer.alloc(5000));
    expect(big.subarray(4000).some((b) => b !== 0)).toBe(true);
  });
});
