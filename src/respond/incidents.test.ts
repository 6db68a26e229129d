import { describe, expect, it } from 'vitest';
import type { Act, Actor } from '../broker/acts.ts';
import { ForbiddenError, InvalidInputError, NotFoundError } from '../errors.ts';
import type { RecordedEvent } from '../model.ts';
import type { Store } from '../store/store.ts';
import { IncidentService } from './incidents.ts';
import type { ActAuthorizer } from './investigation.ts';

/** Cedar as the shipped policies have it for `respond`: privacy officers yes, agents no; every call noted. */
function fakeActs(calls: Array<{ actor: string; refusal?: Error }>): ActAuthorizer {
  return {
    async authorize(actor: Actor, _act: Act, _ctx, refusal?: NotFoundError | Error) {
      calls.push({ actor: actor.id, ...(refusal ? { refusal } : {}) });
      if (!actor.id.startsWith('dpo-')) throw new ForbiddenError('not permitted by policy', 'not_permitted');
      if (refusal) throw refusal;
      return { seq: calls.length } as RecordedEvent;
    },
  } as ActAuthorizer;
}

const store = { employees: { get: async (id: string) => (id === 'emp-0002' ? { id } : undefined) } } as unknown as Store;
const ctx = { channel: 'api' } as const;

describe('opening an incident about an employee', () => {
  it('answers an employee id that names no one with the same 403 as one that does, to whoever may not respond', async () => {
    const calls: Array<{ actor: string; refusal?: Error }> = [];
    const service = new IncidentService({ store, acts: fakeActs(calls), now: () => new Date('2026-03-01T00:00:00Z') });
    const agent: Actor = { kind: 'employee', id: 'emp-0001' };
    await expect(service.open(agent, { title: 'x', employee: 'nobody' }, ctx)).rejects.toBeInstanceOf(ForbiddenError);
    await expect(service.open(agent, { title: 'x', employee: 'emp-0002' }, ctx)).rejects.toBeInstanceOf(ForbiddenError);
    // A responder learns it is missing, and that refusal is decided and recorded like the rest.
    await expect(service.open({ kind: 'employee', id: 'dpo-0001' }, { title: 'x', employee: 'nobody' }, ctx)).rejects.toBeInstanceOf(NotFoundError);
    expect(calls.map((c) => [c.actor, c.refusal?.constructor.name])).toEqual([['emp-0001', 'NotFoundError'], ['emp-0001', undefined], ['dpo-0001', 'NotFoundError']]);
  });
});

describe('opening an accidental exposure of listed customers', () => {
  const held = new Map([['c-1', ['email', 'name']], ['c-2', ['email']]]);
  const withCustomers = {
    ...store,
    customers: { fieldsOf: async (ids: string[]) => new Map(ids.flatMap((id) => (held.has(id) ? [[id, held.get(id)!] as const] : []))) },
  } as unknown as Store;
  const dpo: Actor = { kind: 'employee', id: 'dpo-0001' };

  it('names the ids no customer has (by index, or by line from a file) and fields no exposed customer holds, after Cedar allows', async () => {
    const calls: Array<{ actor: string; refusal?: Error }> = [];
    const service = new IncidentService({ store: withCustomers, acts: fakeActs(calls), now: () => new Date('2026-03-01T00:00:00Z') });
    await expect(service.open(dpo, { title: 'x', exposure: { customers: ['c-1', 'c-9', 'c-2'], fields: ['email'] } }, ctx))
      .rejects.toThrow('no customer "c-9" (exposure.customers[1]): an exposure names customers in the store');
    await expect(service.open(dpo, { title: 'x', exposure: { customers: ['c-1', 'c-9'], fields: ['email'] } }, ctx, { file: 'list.txt', lines: [1, 4] }))
      .rejects.toMatchObject({ message: 'list.txt:4: no customer "c-9" (line 4): an exposure names customers in the store', details: { file: 'list.txt', line: 4 } });
    await expect(service.open(dpo, { title: 'x', exposure: { customers: ['c-1', 'c-2'], fields: ['email', 'shoe_size'] } }, ctx))
      .rejects.toThrow(new InvalidInputError('field "exposure.fields": no exposed customer holds "shoe_size" (they hold email, name)', { field: 'exposure.fields' }));
    expect(calls.map((c) => c.refusal?.constructor.name)).toEqual(['NotFoundError', 'NotFoundError', 'InvalidInputError']);
  });
});
