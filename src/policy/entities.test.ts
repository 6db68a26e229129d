import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkParseEntities } from '@cedar-policy/cedar-wasm/nodejs';
import { describe, expect, it } from 'vitest';
import type { CaseRecord, CustomerProfile, Employee } from '../model.ts';
import { DEFAULT_POLICY_DIR } from './engine.ts';
import { actorStatus, caseEntity, caseInfo, customerEntity, employeeEntity, unknownActorEntity, UNKNOWN_ACTOR_ID } from './entities.ts';

const NOW = new Date('2026-03-02T10:00:00Z');
const ALL = new Set(['id', 'status', 'team', 'location', 'allowedFields', 'country', 'region', 'canary', 'vip', 'assignee', 'customer', 'open', 'kind']);
const SCHEMA = readFileSync(join(DEFAULT_POLICY_DIR, 'custos.cedarschema'), 'utf8');

const ana: Employee = { id: 'e1', name: 'Ana', team: 'support-eu', role: 'agent', location: 'IT', hiredAt: '2024-01-01T00:00:00.000Z', status: 'active' };
const customer: CustomerProfile = { id: 'c1', country: 'IT', region: 'IT-MI', locale: 'it-IT', canary: false, vip: true, fields: ['email'] };
const kase: CaseRecord = { id: 'k1', employee: 'e1', customer: 'c1', openedAt: '2026-03-01T00:00:00.000Z', kind: 'refund' };

describe('actor status', () => {
  it('is active, suspended or left at `now`', () => {
    expect(actorStatus(ana, NOW)).toBe('active');
    expect(actorStatus({ ...ana, status: 'suspended' }, NOW)).toBe('suspended');
    expect(actorStatus({ ...ana, leftAt: '2026-03-01T00:00:00.000Z' }, NOW)).toBe('left');
    // Leaving next week: still active today.
    expect(actorStatus({ ...ana, leftAt: '2026-03-09T00:00:00.000Z' }, NOW)).toBe('active');
  });
});

describe('entities', () => {
  it('makes the employee a member of their role, with the role’s allowance', () => {
    expect(employeeEntity(ana, NOW, ['email', 'phone'], ALL)).toEqual({
      uid: { type: 'Employee', id: 'e1' },
      attrs: { id: 'e1', status: 'active', team: 'support-eu', location: 'IT', allowedFields: ['email', 'phone'] },
      parents: [{ type: 'Role', id: 'agent' }],
    });
  });

  it('sends only the attributes some policy reads', () => {
    expect(employeeEntity(ana, NOW, ['email'], new Set(['status'])).attrs).toEqual({ status: 'active' });
    expect(customerEntity(customer, new Set(['canary'])).attrs).toEqual({ canary: false });
  });

  it('leaves out an unknown region (Cedar has no null)', () => {
    expect(customerEntity({ ...customer, region: null }, ALL).attrs).toEqual({ id: 'c1', country: 'IT', canary: false, vip: true });
  });

  it('computes whether a case is open at `now`', () => {
    expect(caseInfo(kase, NOW)).toEqual({ id: 'k1', assignee: 'e1', customer: 'c1', open: true, kind: 'refund' });
    expect(caseInfo({ ...kase, closedAt: '2026-03-02T09:59:59.000Z' }, NOW).open).toBe(false);
    expect(caseInfo({ ...kase, openedAt: '2026-03-03T00:00:00.000Z' }, NOW).open).toBe(false);
  });

  it('gives an unknown actor a status policies can refuse, no role and no fields', () => {
    expect(unknownActorEntity(ALL)).toEqual({
      uid: { type: 'Employee', id: UNKNOWN_ACTOR_ID },
      attrs: { id: UNKNOWN_ACTOR_ID, status: 'unknown', team: '', location: '', allowedFields: [] },
      parents: [],
    });
  });

  it('builds entities that conform to the shipped schema', () => {
    const entities = [
      employeeEntity(ana, NOW, ['email'], ALL),
      unknownActorEntity(ALL),
      customerEntity(customer, ALL),
      customerEntity({ ...customer, id: 'c2', region: null }, ALL),
      caseEntity(kase, NOW, ALL),
      { uid: { type: 'Role', id: 'agent' }, attrs: {}, parents: [] },
    ];
    expect(checkParseEntities({ entities, schema: SCHEMA })).toEqual({ type: 'success' });
    // The check can fail: a customer without its flags does not conform.
    const bad = checkParseEntities({ entities: [customerEntity(customer, new Set(['country']))], schema: SCHEMA });
    expect(bad.type).toBe('failure');
  });
});
