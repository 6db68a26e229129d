import { describe, expect, it } from 'vitest';
import { InProcessStream } from './stream.ts';
import type { RecordedEvent } from '../model.ts';

const ev = (seq: number): RecordedEvent => ({ seq, id: `e${seq}`, time: '2026-11-01T00:00:00.000Z', actor: 'a', action: 'view', customers: ['c'], fields: [], decision: 'allow' });

describe('InProcessStream', () => {
  it('delivers every published batch to each subscriber in order, and stops after unsubscribe', async () => {
    const stream = new InProcessStream();
    const seen: number[] = [];
    const off = stream.subscribe((events) => void seen.push(...events.map((e) => e.seq)));
    await stream.publish([ev(0), ev(1)]);
    await stream.publish([ev(2)]);
    off();
    await stream.publish([ev(3)]);
    expect(seen).toEqual([0, 1, 2]);
  });

  it('keeps delivering to others when one subscriber throws', async () => {
    const errors: unknown[] = [];
    const stream = new InProcessStream((e) => errors.push(e));
    const seen: number[] = [];
    stream.subscribe(() => {
      throw new Error('detector down');
    });
    stream.subscribe((events) => void seen.push(events.length));
    await stream.publish([ev(0)]);
    expect(seen).toEqual([1]);
    expect(errors).toHaveLength(1);
  });
});
