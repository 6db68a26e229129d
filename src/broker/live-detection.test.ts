import { describe, expect, it, vi } from 'vitest';
import type { DetectedAlert } from '../store/alerts.ts';
import type { Store } from '../store/store.ts';
import type { RecordedEvent } from '../model.ts';
import { InProcessStream } from '../stream/stream.ts';
import { LiveDetection } from './live-detection.ts';

/** A store with one agent and one canary customer, whose first attempt to store alerts fails. */
function fakeStore(saved: Array<{ found: DetectedAlert[]; position: number }>, ledger: RecordedEvent[]) {
  let failures = 1;
  const store = {
    employees: { list: async ({ after }: { after?: string }) => (after ? [] : [{ id: 'e1', name: 'E', team: 'support', role: 'agent', location: 'Milan', hiredAt: '2024-01-01T00:00:00.000Z', status: 'active' }]) },
    customers: { flagsAfter: async (after: string) => (after ? [] : [{ id: 'c1', country: 'IT', canary: true, vip: false }]) },
    cases: { list: async () => [] },
    ledger: { size: async () => ledger.length },
    alerts: {
      position: async () => 0,
      aliasOf: async () => 'S-0000000001',
      saveDetections: async (_name: string, found: DetectedAlert[], position: number) => {
        if (failures-- > 0) throw new Error('database is locked');
        saved.push({ found, position });
      },
    },
  };
  return store as unknown as Store;
}

describe('live detection', () => {
  it('stores an alert that a failed write would have lost, trying again before it goes on', async () => {
    const touch: RecordedEvent = { seq: 0, id: 'ev-1', time: '2026-03-02T10:00:00.000Z', actor: 'e1', action: 'view', customers: ['c1'], fields: ['email'], decision: 'allow' };
    const saved: Array<{ found: DetectedAlert[]; position: number }> = [];
    const ledger = [touch];
    const stream = new InProcessStream({ source: { async *read(from, to) { yield ledger.slice(from, to); } }, head: 0 });
    const errors: unknown[] = [];
    const detection = new LiveDetection({ store: fakeStore(saved, ledger), stream, now: () => new Date(), retryMs: 1, followMs: 60_000, onError: (err) => errors.push(err) });
    await detection.start();
    stream.publish({ from: 0, to: 1, events: [touch] });
    await vi.waitFor(() => expect(saved).toHaveLength(1));
    expect(errors).toHaveLength(1);
    expect(saved[0]!.position).toBe(1);
    expect(saved[0]!.found.map((d) => [d.seq, d.alert.employee, d.alert.severity])).toEqual([[0, 'e1', 'critical']]);
    // The explanation names the subject by the store's alias, never by the id.
    expect(saved[0]!.found[0]!.alert.explanation).toContain('S-0000000001');
    expect(saved[0]!.found[0]!.alert.explanation).not.toContain('e1 ');
    await detection.close();
    await stream.close();
  });
});
