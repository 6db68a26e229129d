import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore, storeTargets } from '../../test/support/stores.ts';
import type { Alert } from '../detect/alert.ts';
import type { Store } from './store.ts';

const now = new Date('2026-11-01T10:00:00Z');

function alert(id: string, employee: string, detectedAt: string, over: Partial<Alert> = {}): Alert {
  return {
    id, employee, score: 72.5, severity: 'high', detectedAt, firstEventAt: detectedAt, updatedAt: detectedAt,
    detectors: [{ name: 'volume', score: 72.5, evidence: { summary: 'revealed 46 distinct customers; own median 6', counts: { distinctCustomers: 46 }, baseline: { ownMedian: 6 }, samples: [{ id: 'e1', seq: 3, time: detectedAt }] } }],
    explanation: 'An employee revealed many more customers than usual.', state: 'open', ...over,
  };
}

for (const target of storeTargets()) {
  describe(`alerts on ${target.name}`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await openTestStore(target);
    });
    afterAll(async () => {
      await store?.close();
      await target.cleanup();
    });

    it('stores raised and updated alerts idempotently, with a risk point per update and the position reached', async () => {
      expect(await store.alerts.position('live')).toBe(0);
      const a = alert('al-1', 'emp-1', '2026-03-02T10:00:00.000Z');
      await store.alerts.saveDetections('live', [{ alert: a, seq: 10 }], 11, now);
      const updated = { ...a, score: 91, severity: 'critical' as const, updatedAt: '2026-03-02T12:00:00.000Z', detectors: [...a.detectors, { name: 'canary' as const, score: 100, evidence: { summary: 'touched a canary', counts: {}, baseline: {}, samples: [] } }] };
      await store.alerts.saveDetections('live', [{ alert: updated, seq: 20 }], 21, now);
      // A replay after a restart: the first update again, and an earlier position.
      await store.alerts.saveDetections('live', [{ alert: a, seq: 10 }], 11, now);
      const got = await store.alerts.get('al-1');
      expect(got).toMatchObject({ id: 'al-1', employee: 'emp-1', score: 91, severity: 'critical', state: 'open', seq: 20, detectedAt: a.detectedAt, updatedAt: updated.updatedAt });
      expect(got!.alias).toMatch(/^S-[0-9A-F]{10}$/);
      expect(got!.detectors.map((d) => d.name)).toEqual(['volume', 'canary']);
      expect(got!.detectors[0]!.evidence.samples[0]).toEqual({ id: 'e1', seq: 3, time: a.detectedAt });
      expect(await store.alerts.position('live')).toBe(21);
      expect(await store.alerts.riskHistory('emp-1', { limit: 10 })).toEqual([
        { at: a.updatedAt, score: 72.5, alert: 'al-1', detectors: [{ name: 'volume', score: 72.5 }], seq: 10 },
        { at: updated.updatedAt, score: 91, alert: 'al-1', detectors: [{ name: 'volume', score: 72.5 }, { name: 'canary', score: 100 }], seq: 20 },
      ]);
    });

    it('gives each employee one stable alias, unrelated to the id', async () => {
      const first = await store.alerts.aliasOf('emp-2');
      expect(await store.alerts.aliasOf('emp-2')).toBe(first);
      expect(await store.alerts.aliasOf('emp-3')).not.toBe(first);
      expect(first).not.toContain('emp');
    });

    it('lists newest first, filtered and paged by keyset', async () => {
      const batch = [
        alert('al-2', 'emp-2', '2026-03-03T09:00:00.000Z', { severity: 'medium' }),
        alert('al-3', 'emp-3', '2026-03-04T09:00:00.000Z'),
        alert('al-4', 'emp-2', '2026-03-04T09:00:00.000Z', { severity: 'low' }),
        alert('al-5', 'emp-4', '2026-03-05T09:00:00.000Z'),
      ];
      await store.alerts.saveDetections('live', batch.map((a, i) => ({ alert: a, seq: 30 + i })), 40, now);
      const ids = async (f: Parameters<Store['alerts']['list']>[0]) => (await store.alerts.list(f)).map((a) => a.id);
      expect(await ids({ limit: 10 })).toEqual(['al-5', 'al-4', 'al-3', 'al-2', 'al-1']);
      expect(await ids({ limit: 2 })).toEqual(['al-5', 'al-4']);
      expect(await ids({ limit: 2, after: 'al-4' })).toEqual(['al-3', 'al-2']);
      expect(await ids({ limit: 2, after: 'al-2' })).toEqual(['al-1']);
      expect(await ids({ limit: 10, after: 'no-such' })).toEqual([]);
      expect(await ids({ limit: 10, severity: 'high' })).toEqual(['al-5', 'al-3']);
      expect(await ids({ limit: 10, alias: await store.alerts.aliasOf('emp-2') })).toEqual(['al-4', 'al-2']);
      expect(await ids({ limit: 10, notEmployee: 'emp-2' })).toEqual(['al-5', 'al-3', 'al-1']);
      expect(await ids({ limit: 10, from: '2026-03-04T00:00:00.000Z', to: '2026-03-05T00:00:00.000Z' })).toEqual(['al-4', 'al-3']);
    });

    it('changes state compare-and-set, keeping every change; new findings open a dismissed alert again', async () => {
      const ack = { at: now.toISOString(), from: 'open' as const, to: 'acknowledged' as const, actor: 'sec-1', seq: 50 };
      expect(await store.alerts.changeState('al-3', 'open', ack)).toBe(true);
      // A second analyst acting on what they saw as open: refused, nothing written.
      expect(await store.alerts.changeState('al-3', 'open', { ...ack, to: 'dismissed', actor: 'sec-2', seq: 51 })).toBe(false);
      expect(await store.alerts.changeState('al-3', 'acknowledged', { at: now.toISOString(), from: 'acknowledged', to: 'dismissed', actor: 'sec-2', reason: 'known batch job', seq: 52 })).toBe(true);
      expect(await store.alerts.stateChanges('al-3')).toEqual([
        { at: now.toISOString(), from: 'open', to: 'acknowledged', actor: 'sec-1', seq: 50 },
        { at: now.toISOString(), from: 'acknowledged', to: 'dismissed', actor: 'sec-2', reason: 'known batch job', seq: 52 },
      ]);
      const a3 = alert('al-3', 'emp-3', '2026-03-04T09:00:00.000Z', { score: 99, updatedAt: '2026-03-04T10:00:00.000Z' });
      // A replay of what the dismissal already saw changes nothing.
      await store.alerts.saveDetections('live', [{ alert: { ...a3, score: 98 }, seq: 1 }], 61, now);
      expect(await store.alerts.get('al-3')).toMatchObject({ state: 'dismissed' });
      // New findings after the dismissal: the alert is open again, and its history says why.
      await store.alerts.saveDetections('live', [{ alert: a3, seq: 60 }], 61, now);
      expect(await store.alerts.get('al-3')).toMatchObject({ state: 'open', score: 99 });
      expect((await store.alerts.stateChanges('al-3')).at(-1)).toEqual({ at: '2026-03-04T10:00:00.000Z', from: 'dismissed', to: 'open', actor: 'detection:live', reason: 'new findings after the dismissal', seq: 60 });
      // An acknowledged or escalated alert stays where the analyst put it.
      expect(await store.alerts.changeState('al-3', 'open', { ...ack, seq: 70 })).toBe(true);
      await store.alerts.saveDetections('live', [{ alert: { ...a3, updatedAt: '2026-03-04T11:00:00.000Z' }, seq: 80 }], 81, now);
      expect(await store.alerts.get('al-3')).toMatchObject({ state: 'acknowledged' });
      expect(await store.alerts.changeState('nope', 'open', ack)).toBe(false);
    });
  });
}
