import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AccessEvent, RecordedEvent } from '../model.ts';
import { openTestStore, storeTargets } from '../../test/support/stores.ts';
import { openerFor } from '../vault/decrypt.ts';
import { createVault } from '../vault/index.ts';
import { clearSealedEntities } from './clear-entity.ts';
import { storeCustomers } from './customer-writes.ts';

const NOW = new Date('2026-03-10T00:00:00Z');

for (const target of storeTargets()) {
  describe(`customers whose entity was sealed as PII, on ${target.name}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'custos-clear-entity-'));
    afterAll(async () => {
      await target.cleanup();
      rmSync(dir, { recursive: true, force: true });
    });

    it('get it moved to the clear attribute by the broker, recorded first, once', async () => {
      const store = await openTestStore(target);
      try {
        const vault = createVault(dir, NOW);
        const customer = (id: string, entity?: string) => ({ id, country: 'IT', canary: false, vip: false, pii: { email: `${id}@mail.example`, name: id, ...(entity ? { entity } : {}) } });
        // As imports wrote them before entity was a clear key: a PII field like any other.
        await storeCustomers(store, vault, [customer('c-1', 'uk'), customer('c-2'), customer('c-3', 'not an id!')], NOW);
        expect((await store.customers.get('c-1'))!.fields).toContain('entity');
        const recorded: AccessEvent[] = [];
        const deps = { store, vault, now: () => NOW, recorder: { async record(e: AccessEvent) { recorded.push(e); return { ...e, seq: recorded.length } as RecordedEvent; }, async close() {} } };

        expect(await clearSealedEntities(deps, { channel: 'cli' })).toBe(1);
        expect(recorded).toHaveLength(1);
        expect(recorded[0]).toMatchObject({ actor: 'custos', action: 'update', decision: 'allow', target: { type: 'directory', id: 'customers' } });
        const moved = (await store.customers.get('c-1'))!;
        expect(moved).toMatchObject({ entity: 'uk', fields: ['email', 'name'] });
        expect(Object.keys(moved.sealed).sort()).toEqual(['email', 'name']);
        expect(Object.keys(moved.masked).sort()).toEqual(['email', 'name']);
        expect((await store.customers.get('c-2'))!.entity).toBeNull();
        // A value that is no entity id stays sealed (the notice path names that customer instead of guessing).
        expect((await store.customers.get('c-3'))!.fields).toContain('entity');

        // Nothing moved twice; the other fields still open.
        expect(await clearSealedEntities(deps, { channel: 'cli' })).toBe(0);
        expect(openerFor(vault).open(moved, ['email']).email).toBe('c-1@mail.example');
      } finally {
        await store.close();
      }
    });
  });
}
