import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, ForbiddenError, NotFoundError } from '../errors.ts';
import type { AccessEvent, RecordedEvent } from '../model.ts';
import { loadPolicyEngine } from '../policy/index.ts';
import type { Incident, IncidentState } from '../store/incidents.ts';
import { Store } from '../store/store.ts';
import { createVault } from '../vault/index.ts';
import { storeCustomers } from './customer-writes.ts';
import { NoticeAddresses } from './notice-address.ts';

const NOW = new Date('2026-03-10T00:00:00Z');
const ctx = { channel: 'cli' } as const;
const dpo = { kind: 'employee', id: 'dpo-1' } as const;

describe('opening a notice address', () => {
  const dir = mkdtempSync(join(tmpdir(), 'custos-notice-address-'));
  let store: Store;
  let addresses: NoticeAddresses;
  const recorded: AccessEvent[] = [];
  const incident = async (id: string, state: IncidentState, customers: string[]) => {
    const at = NOW.toISOString();
    const i: Incident = { id, kind: 'exposure', title: 't', state, exposure: { customers, fields: ['email'] }, openedAt: at, openedBy: 'dpo-1', updatedAt: at };
    await store.incidents.create(i, { at, actor: 'dpo-1', kind: 'opened', detail: {} });
  };

  beforeAll(async () => {
    store = await Store.open({ dialect: 'sqlite', file: join(dir, 'custos.db') });
    const vault = createVault(dir, NOW);
    await store.employees.upsertMany([{ id: 'dpo-1', name: 'D', team: 'privacy', role: 'privacy_officer', location: 'Dublin', hiredAt: '2024-01-01T00:00:00Z', status: 'active' }], NOW);
    await storeCustomers(store, vault, ['c-1', 'c-2'].map((id) => ({ id, country: 'IE', canary: false, vip: false, pii: { email: `${id}@mail.example`, name: id } })), NOW);
    await incident('inc-notifying', 'notifying', ['c-1']);
    await incident('inc-assessing', 'assessing', ['c-1']);
    addresses = new NoticeAddresses({
      store, vault, policy: loadPolicyEngine(), now: () => NOW,
      recorder: { async record(e) { recorded.push(e); return { ...e, seq: recorded.length } as RecordedEvent; }, async close() {} },
      affectedBy: async (i) => (i.exposure && 'customers' in i.exposure ? i.exposure.customers : []),
    });
  });

  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const last = () => recorded[recorded.length - 1]!;

  it('opens the address of a customer the notifying incident affected, recorded as an export first', async () => {
    expect(await addresses.addressFor(dpo, 'inc-notifying', 'c-1', ctx)).toBe('c-1@mail.example');
    expect(last()).toMatchObject({ actor: 'dpo-1', action: 'export', operation: 'notify', decision: 'allow', fields: ['email'], details: { incident: 'inc-notifying' } });
  });

  it('refuses, and records the refusal, for an incident that is not in the store, not notifying, or did not affect the customer', async () => {
    const cases: Array<[string, string, new (...a: never[]) => Error, string]> = [
      ['inc-made-up', 'c-1', NotFoundError, 'not_found'],
      ['inc-assessing', 'c-1', ConflictError, 'conflict'],
      ['inc-notifying', 'c-2', ForbiddenError, 'purpose_not_linked'],
    ];
    for (const [incidentId, customer, error, reason] of cases) {
      const before = recorded.length;
      await expect(addresses.addressFor(dpo, incidentId, customer, ctx)).rejects.toBeInstanceOf(error);
      expect(recorded.length, incidentId).toBe(before + 1);
      expect(last(), incidentId).toMatchObject({ decision: 'deny', reason, fields: [], requested: ['email'], target: { type: 'customer', id: customer }, details: { incident: incidentId } });
    }
    // The host (no --as) is recorded, not decided by Cedar; the incident binds it all the same.
    await expect(addresses.addressFor({ kind: 'host', id: 'os:root@h' }, 'inc-made-up', 'c-2', ctx)).rejects.toBeInstanceOf(NotFoundError);
    expect(last()).toMatchObject({ actor: 'os:root@h', decision: 'deny', reason: 'not_found' });
  });

  it('tells someone Cedar refuses nothing about the incident', async () => {
    await store.employees.upsertMany([{ id: 'agent-1', name: 'A', team: 'support', role: 'agent', location: 'Dublin', hiredAt: '2024-01-01T00:00:00Z', status: 'active' }], NOW);
    await expect(addresses.addressFor({ kind: 'employee', id: 'agent-1' }, 'inc-made-up', 'c-1', ctx)).rejects.toMatchObject({ reason: 'not_permitted' });
    expect(last()).toMatchObject({ actor: 'agent-1', decision: 'deny', reason: 'not_permitted' });
  });
});
