import { afterAll, describe, expect, it } from 'vitest';
import type { CaseRecord, CustomerProfile, Employee } from '../model.ts';
import { loadPolicyEngine, MANAGE_OPERATIONS, type DecideRequest, type ManageChange, type ManageOperation, type PolicyEngine, type RevealRequest } from './engine.ts';
import { policyDirWith, removePolicyDirs } from './test-policy-dir.ts';

afterAll(removePolicyDirs);

const NOW = new Date('2026-03-02T10:00:00Z');

function employee(id: string, role: string, more: Partial<Employee> = {}): Employee {
  return { id, name: id, team: 'support-eu', role, location: 'IT', hiredAt: '2024-01-01T00:00:00.000Z', status: 'active', ...more };
}

const agent = employee('e-agent', 'agent');
const otherAgent = employee('e-other', 'agent');
const investigator = employee('e-inv', 'investigator');
const supervisor = employee('e-sup', 'supervisor');
const admin = employee('e-admin', 'admin');
const auditor = employee('e-aud', 'auditor');
const privacyOfficer = employee('e-dpo', 'privacy_officer');

const customer: CustomerProfile = { id: 'c1', country: 'IT', region: null, locale: 'it-IT', canary: false, vip: false, fields: ['email', 'phone', 'name'] };
const canary: CustomerProfile = { ...customer, id: 'c-canary', canary: true };

function caseFor(actor: Employee, c: { id: string }, more: Partial<CaseRecord> = {}): CaseRecord {
  return { id: `k-${actor.id}-${c.id}`, employee: actor.id, customer: c.id, openedAt: '2026-03-01T08:00:00.000Z', kind: 'support', ...more };
}

/** A reveal that the default policies allow, with `change` applied. */
function reveal(change: Partial<RevealRequest> = {}): RevealRequest {
  const actor = change.actor === undefined && 'actor' in change ? undefined : (change.actor ?? agent);
  const c = change.customer ?? customer;
  const k = caseFor(actor ?? agent, c);
  return { actor, customer: c, case: k, purpose: { kind: 'case', ref: k.id }, fields: ['email'], now: NOW, ...change };
}

const engine = loadPolicyEngine();

describe('reveal under the default policies', () => {
  it('allows an agent their case customer’s email, on the one permit', () => {
    expect(engine.decideReveal(reveal())).toEqual({ decision: 'allow', policies: ['reveal'] });
    expect(engine.decideReveal(reveal({ fields: ['email', 'phone'] })).decision).toBe('allow');
  });

  it('denies an unknown actor: actor_unknown', () => {
    const d = engine.decideReveal(reveal({ actor: undefined }));
    expect(d).toMatchObject({ decision: 'deny', reason: 'actor_unknown' });
    expect(d.policies).toEqual(expect.arrayContaining(['actor-unknown', 'actor-inactive']));
  });

  it('denies a suspended actor, and one who has left: actor_suspended', () => {
    expect(engine.decideReveal(reveal({ actor: { ...agent, status: 'suspended' } }))).toMatchObject({ decision: 'deny', reason: 'actor_suspended' });
    expect(engine.decideReveal(reveal({ actor: { ...agent, leftAt: '2026-03-01T00:00:00.000Z' } }))).toMatchObject({ decision: 'deny', reason: 'actor_suspended' });
  });

  it('judges the actor even when the customer has no record, and never allows such a reveal', () => {
    const missing = { id: 'c-missing' };
    expect(engine.decideReveal(reveal({ customer: missing, actor: { ...agent, status: 'suspended' } }))).toMatchObject({ decision: 'deny', reason: 'actor_suspended' });
    expect(engine.decideReveal(reveal({ customer: missing, actor: undefined }))).toMatchObject({ decision: 'deny', reason: 'actor_unknown' });
    expect(engine.decideReveal(reveal({ customer: missing })).decision).toBe('deny');
  });

  it('never reveals a canary, even on an assigned open case: canary', () => {
    const d = engine.decideReveal(reveal({ customer: canary }));
    expect(d).toEqual({ decision: 'deny', reason: 'canary', policies: ['reveal-canary'] });
  });

  it('needs a purpose, and only a case is one: no_purpose', () => {
    const { purpose: _p, case: _c, ...none } = reveal();
    expect(engine.decideReveal(none)).toMatchObject({ decision: 'deny', reason: 'no_purpose' });
    expect(engine.decideReveal(reveal({ purpose: { kind: 'ticket', ref: 'T-1' } }))).toMatchObject({ decision: 'deny', reason: 'no_purpose' });
  });

  it('needs the case to exist, be the purpose’s, be the actor’s and be this customer’s: purpose_not_linked', () => {
    const { case: _c, ...missing } = reveal();
    expect(engine.decideReveal(missing)).toEqual({ decision: 'deny', reason: 'purpose_not_linked', policies: ['reveal-case-linked'] });
    const othersCase = caseFor(otherAgent, customer);
    expect(engine.decideReveal(reveal({ case: othersCase, purpose: { kind: 'case', ref: othersCase.id } })).reason).toBe('purpose_not_linked');
    const anotherCustomers = caseFor(agent, { ...customer, id: 'c2' });
    expect(engine.decideReveal(reveal({ case: anotherCustomers, purpose: { kind: 'case', ref: anotherCustomers.id } })).reason).toBe('purpose_not_linked');
    // The caller passed a case other than the one the purpose names.
    expect(engine.decideReveal(reveal({ purpose: { kind: 'case', ref: 'k-something-else' } })).reason).toBe('purpose_not_linked');
  });

  it('needs the case open at `now`: case_closed', () => {
    const closed = caseFor(agent, customer, { closedAt: '2026-03-02T09:00:00.000Z' });
    expect(engine.decideReveal(reveal({ case: closed }))).toEqual({ decision: 'deny', reason: 'case_closed', policies: ['reveal-case-open'] });
    const notYet = caseFor(agent, customer, { openedAt: '2026-03-03T00:00:00.000Z' });
    expect(engine.decideReveal(reveal({ case: notYet })).reason).toBe('case_closed');
  });

  it('limits each role to its field allowance: field_not_allowed', () => {
    expect(engine.decideReveal(reveal({ fields: ['email', 'name'] }))).toEqual({ decision: 'deny', reason: 'field_not_allowed', policies: ['reveal-field-allowance'] });
    expect(engine.decideReveal(reveal({ actor: investigator, fields: ['email', 'name', 'address', 'birthDate'] })).decision).toBe('allow');
    expect(engine.decideReveal(reveal({ actor: supervisor })).reason).toBe('field_not_allowed');
    expect(engine.decideReveal(reveal({ actor: admin })).reason).toBe('field_not_allowed');
    expect(engine.decideReveal(reveal({ actor: employee('e-x', 'intern') })).reason).toBe('field_not_allowed');
  });

  it('reports the most important reason when several forbids apply, and lists them all', () => {
    const { purpose: _p, case: _c, ...noPurpose } = reveal();
    const all = engine.decideReveal({ ...noPurpose, actor: { ...agent, status: 'suspended' }, customer: canary, fields: ['name'] });
    expect(all.reason).toBe('actor_suspended');
    expect([...all.policies].sort()).toEqual(['actor-inactive', 'reveal-canary', 'reveal-case-linked', 'reveal-field-allowance', 'reveal-needs-case']);
    expect(engine.decideReveal({ ...noPurpose, customer: canary, fields: ['name'] }).reason).toBe('canary');
    expect(engine.decideReveal({ ...noPurpose, fields: ['name'] }).reason).toBe('no_purpose');
    const othersClosed = caseFor(otherAgent, customer, { closedAt: '2026-03-02T09:00:00.000Z' });
    expect(engine.decideReveal(reveal({ case: othersClosed, purpose: { kind: 'case', ref: othersClosed.id }, fields: ['name'] })).reason).toBe('purpose_not_linked');
    const closed = caseFor(agent, customer, { closedAt: '2026-03-02T09:00:00.000Z' });
    expect(engine.decideReveal(reveal({ case: closed, fields: ['name'] })).reason).toBe('case_closed');
  });
});

describe('roles', () => {
  it('exposes each role’s allowance and budget from roles.json', () => {
    expect(engine.allowedFields('agent')).toEqual(['email', 'phone']);
    expect(engine.allowedFields('investigator')).toContain('birthDate');
    expect(engine.allowedFields('supervisor')).toEqual([]);
    expect(engine.budgetFor('agent')).toEqual({ perHour: 60, perDay: 300 });
    expect(engine.budgetFor('investigator').perDay).toBeGreaterThan(300);
    // A role roles.json does not define gets nothing.
    expect(engine.allowedFields('intern')).toEqual([]);
    expect(engine.budgetFor('intern')).toEqual({ perHour: 0, perDay: 0 });
    expect(engine.searchBudgetFor('agent')).toEqual({ perHour: 300, perDay: 1500 });
    expect(engine.searchBudgetFor('intern')).toEqual({ perHour: 0, perDay: 0 });
    expect(engine.roles().map((r) => r.id).sort()).toEqual(['admin', 'agent', 'auditor', 'ingester', 'investigator', 'privacy_officer', 'security_analyst', 'supervisor']);
  });
});

describe('other actions under the default policies', () => {
  const base = { now: NOW };

  it('view and search: any active employee', () => {
    expect(engine.decide({ ...base, action: 'view', actor: agent, resource: { type: 'Customer', customer } })).toEqual({ decision: 'allow', policies: ['view-and-search'] });
    // Viewing a canary is masked, so allowed: it is how canaries get tripped.
    expect(engine.decide({ ...base, action: 'view', actor: agent, resource: { type: 'Customer', customer: canary } }).decision).toBe('allow');
    expect(engine.decide({ ...base, action: 'search', actor: agent, resource: { type: 'Directory' } }).decision).toBe('allow');
    expect(engine.decide({ ...base, action: 'view', actor: { ...agent, status: 'suspended' }, resource: { type: 'Customer', customer } })).toMatchObject({
      decision: 'deny',
      reason: 'actor_suspended',
    });
    expect(engine.decide({ ...base, action: 'search', actor: undefined, resource: { type: 'Directory' } }).reason).toBe('actor_unknown');
  });

  type ManageResource = Extract<DecideRequest, { action: 'manage' }>['resource'];
  const manage = (actor: Employee, operation: ManageOperation, resource: ManageResource, change: ManageChange = { changes: [] }) =>
    engine.decide({ ...base, action: 'manage', operation, actor, resource, ...change });

  it('manage: admins everything, supervisors cases (not deletes), agents nothing', () => {
    const k = caseFor(agent, customer);
    expect(manage(admin, 'replace', { type: 'Customer', customer })).toEqual({ decision: 'allow', policies: ['manage-admin'] });
    expect(manage(admin, 'create', { type: 'Employee', id: 'e-new' }).decision).toBe('allow');
    // Their own record: the principal and the resource are the same entity.
    expect(manage(admin, 'replace', { type: 'Employee', employee: admin }, { changes: ['team'] }).decision).toBe('allow');
    expect(manage(admin, 'delete', { type: 'Case', case: k }).decision).toBe('allow');
    expect(manage(supervisor, 'create', { type: 'Case', case: k })).toEqual({ decision: 'allow', policies: ['manage-cases-supervisor'] });
    for (const op of ['replace', 'reassign', 'close', 'reopen'] as const) expect(manage(supervisor, op, { type: 'Case', case: k }).decision).toBe('allow');
    expect(manage(supervisor, 'delete', { type: 'Case', case: k })).toEqual({ decision: 'deny', reason: 'not_permitted', policies: [] });
    expect(manage(supervisor, 'replace', { type: 'Customer', customer }).reason).toBe('not_permitted');
    expect(manage(agent, 'close', { type: 'Case', case: k }).reason).toBe('not_permitted');
    expect(manage({ ...admin, status: 'suspended' }, 'replace', { type: 'Customer', customer }).reason).toBe('actor_suspended');
  });

  it('manage: the answer for an id alone is the answer for the record, so a missing id tells nothing to those who may not act', () => {
    const k = caseFor(agent, customer);
    const records: ManageResource[] = [{ type: 'Case', case: k }, { type: 'Employee', employee: otherAgent }, { type: 'Customer', customer }];
    for (const actor of [admin, supervisor, agent, { ...admin, status: 'suspended' as const }]) {
      for (const r of records) {
        const id: ManageResource = { type: r.type, id: 'case' in r ? r.case.id : 'employee' in r ? r.employee.id : customer.id };
        for (const op of MANAGE_OPERATIONS) expect(manage(actor, op, id), `${actor.id} ${op} ${r.type}`).toEqual(manage(actor, op, r));
      }
    }
  });

  it('separation of duties: nobody changes their own role or status, nor opens, reopens or takes a case of their own', () => {
    const sod = { decision: 'deny', reason: 'separation_of_duties' };
    const self = { type: 'Employee', employee: admin } as const;
    expect(manage(admin, 'replace', self, { changes: ['role'] })).toMatchObject({ ...sod, policies: ['sod-own-role-or-status'] });
    expect(manage(admin, 'replace', self, { changes: ['status', 'team'] })).toMatchObject(sod);
    expect(manage(admin, 'suspend', self, { changes: [] })).toMatchObject(sod);
    expect(manage(admin, 'reinstate', self)).toMatchObject(sod);
    // Someone else's role: allowed.
    expect(manage(admin, 'replace', { type: 'Employee', employee: otherAgent }, { changes: ['role', 'status'] }).decision).toBe('allow');
    expect(manage(admin, 'suspend', { type: 'Employee', employee: otherAgent }, { changes: ['status'] }).decision).toBe('allow');

    const own = caseFor(supervisor, customer);
    for (const op of ['create', 'reopen', 'reassign'] as const) {
      expect(manage(supervisor, op, { type: 'Case', case: own }, { changes: [], assignee: supervisor.id }), op).toMatchObject({ ...sod, policies: ['sod-own-case'] });
      expect(manage(admin, op, { type: 'Case', id: 'k-new' }, { changes: [], assignee: admin.id }), op).toMatchObject(sod);
      expect(manage(supervisor, op, { type: 'Case', case: own }, { changes: [], assignee: agent.id }).decision, op).toBe('allow');
    }
    // Closing one's own case, or reassigning it away, is fine.
    expect(manage(supervisor, 'close', { type: 'Case', case: own }, { changes: ['closedAt'], assignee: supervisor.id }).decision).toBe('allow');
  });

  it('lists of employees and cases: those who run or audit the records, not agents', () => {
    for (const list of ['employees', 'cases'] as const) {
      const view = (actor: Employee) => engine.decide({ ...base, action: 'view', actor, resource: { type: 'Directory', id: list } });
      for (const actor of [admin, supervisor, privacyOfficer, auditor]) expect(view(actor)).toEqual({ decision: 'allow', policies: ['view-lists'] });
      for (const actor of [agent, investigator]) expect(view(actor)).toEqual({ decision: 'deny', reason: 'not_permitted', policies: [] });
    }
  });

  it('read_ledger: admins, privacy officers and auditors', () => {
    const read = (actor: Employee | undefined) => engine.decide({ ...base, action: 'read_ledger', actor, resource: { type: 'Ledger' } });
    for (const actor of [admin, privacyOfficer, auditor]) expect(read(actor)).toEqual({ decision: 'allow', policies: ['read-ledger'] });
    for (const actor of [agent, investigator, supervisor]) expect(read(actor)).toEqual({ decision: 'deny', reason: 'not_permitted', policies: [] });
    expect(read({ ...auditor, leftAt: '2026-01-01T00:00:00.000Z' }).reason).toBe('actor_suspended');
  });

  it('import: admins only', () => {
    expect(engine.decide({ ...base, action: 'import', actor: admin, resource: { type: 'Directory' } })).toEqual({ decision: 'allow', policies: ['import-admin'] });
    expect(engine.decide({ ...base, action: 'import', actor: supervisor, resource: { type: 'Directory' } }).reason).toBe('not_permitted');
  });

  it('issue_token and rotate_key: admins only; prove_ledger: any active employee', () => {
    expect(engine.decide({ ...base, action: 'issue_token', actor: admin, resource: { type: 'Employee', employee: agent } })).toEqual({ decision: 'allow', policies: ['issue-token-admin'] });
    // A token for themselves: the principal and the resource are the same entity.
    expect(engine.decide({ ...base, action: 'issue_token', actor: admin, resource: { type: 'Employee', employee: admin } }).decision).toBe('allow');
    expect(engine.decide({ ...base, action: 'issue_token', actor: supervisor, resource: { type: 'Employee', employee: agent } }).reason).toBe('not_permitted');
    for (const id of ['kek', 'signing'] as const) {
      expect(engine.decide({ ...base, action: 'rotate_key', actor: admin, resource: { type: 'Key', id } })).toEqual({ decision: 'allow', policies: ['rotate-key-admin'] });
      expect(engine.decide({ ...base, action: 'rotate_key', actor: privacyOfficer, resource: { type: 'Key', id } }).reason).toBe('not_permitted');
    }
    const prove = (actor: Employee | undefined) => engine.decide({ ...base, action: 'prove_ledger', actor, resource: { type: 'Ledger' } });
    for (const actor of [agent, supervisor, auditor]) expect(prove(actor)).toEqual({ decision: 'allow', policies: ['prove-ledger'] });
    expect(prove({ ...agent, status: 'suspended' }).reason).toBe('actor_suspended');
    expect(prove(undefined).reason).toBe('actor_unknown');
  });
});

describe('an operator’s own policies', () => {
  it('can forbid agents reveals of VIP customers, and only that', () => {
    const dir = policyDirWith({
      'local.cedar': `
// Our VIPs are handled by investigators only.
@id("no-vip-for-agents")
forbid (principal in Role::"agent", action == Action::"reveal", resource)
when { resource.vip };
`,
    });
    const local = loadPolicyEngine({ dir });
    const vip = { ...customer, id: 'c-vip', vip: true };
    expect(local.decideReveal(reveal({ customer: vip }))).toEqual({ decision: 'deny', reason: 'not_permitted', policies: ['no-vip-for-agents'] });
    // The attribute is sent now that a policy reads it: investigators still get VIPs.
    expect(local.decideReveal(reveal({ actor: investigator, customer: vip })).decision).toBe('allow');
    expect(local.decideReveal(reveal()).decision).toBe('allow');
    // The default engine is unchanged.
    expect(engine.decideReveal(reveal({ customer: vip })).decision).toBe('allow');
  });

  it('can widen a role’s allowance in roles.json', () => {
    const dir = policyDirWith({
      'roles.json': JSON.stringify({
        roles: {
          agent: { fields: ['email', 'phone', 'name'], budget: { perHour: 10, perDay: 20 }, searchBudget: { perHour: 5, perDay: 10 } },
          admin: { fields: [], budget: { perHour: 0, perDay: 0 }, searchBudget: { perHour: 5, perDay: 10 } },
          supervisor: { fields: [], budget: { perHour: 0, perDay: 0 }, searchBudget: { perHour: 5, perDay: 10 } },
          privacy_officer: { fields: [], budget: { perHour: 0, perDay: 0 }, searchBudget: { perHour: 5, perDay: 10 } },
          auditor: { fields: [], budget: { perHour: 0, perDay: 0 }, searchBudget: { perHour: 5, perDay: 10 } },
          ingester: { fields: [], budget: { perHour: 0, perDay: 0 }, searchBudget: { perHour: 0, perDay: 0 } },
          security_analyst: { fields: [], budget: { perHour: 0, perDay: 0 }, searchBudget: { perHour: 5, perDay: 10 } },
        },
      }),
    });
    const local = loadPolicyEngine({ dir });
    expect(local.decideReveal(reveal({ fields: ['name'] })).decision).toBe('allow');
    expect(local.budgetFor('agent')).toEqual({ perHour: 10, perDay: 20 });
    expect(local.searchBudgetFor('agent')).toEqual({ perHour: 5, perDay: 10 });
    // investigator is gone from this roles file: its holders reveal nothing.
    expect(local.decideReveal(reveal({ actor: investigator })).reason).toBe('field_not_allowed');
  });

  it('fails closed when a policy cannot be evaluated', () => {
    // Reads an attribute of a record that does not exist yet (a create): Cedar skips the
    // forbid with an error, and the admin permit alone would allow.
    const dir = policyDirWith({
      'vip.cedar': '@id("vip-customers-frozen")\n@reason("not_permitted")\nforbid (principal, action == Action::"manage", resource is Customer) when { resource.vip };\n',
    });
    const local = loadPolicyEngine({ dir });
    const d = local.decide({ action: 'manage', operation: 'create', actor: admin, resource: { type: 'Customer', id: 'c-new' }, changes: [], now: NOW });
    expect(d.decision).toBe('deny');
    expect(d.reason).toBe('not_permitted');
    expect(d.errors?.[0]).toMatch(/^vip-customers-frozen: /);
    // With the record, it evaluates.
    expect(local.decide({ action: 'manage', operation: 'replace', actor: admin, resource: { type: 'Customer', customer }, changes: [], now: NOW }).decision).toBe('allow');
    expect(local.decide({ action: 'manage', operation: 'replace', actor: admin, resource: { type: 'Customer', customer: { ...customer, vip: true } }, changes: [], now: NOW }).reason).toBe('not_permitted');
  });

  it('can use team and location, which the default policies do not read', () => {
    const dir = policyDirWith({
      'residency.cedar': '@id("eu-data-in-eu")\n@reason("not_permitted")\nforbid (principal, action == Action::"reveal", resource)\nwhen { resource.country == "IT" && principal.location != "IT" };\n',
    });
    const local = loadPolicyEngine({ dir });
    expect(local.decideReveal(reveal()).decision).toBe('allow');
    const abroad = { ...agent, location: 'US' };
    expect(local.decideReveal(reveal({ actor: abroad }))).toMatchObject({ decision: 'deny', reason: 'not_permitted', policies: ['eu-data-in-eu'] });
  });
});

describe('the decision cache', () => {
  // Every combination the reveal policies tell apart, each asked several times in a mixed order.
  const variants: RevealRequest[] = [];
  for (const actor of [agent, otherAgent, investigator, undefined, { ...agent, status: 'suspended' as const }]) {
    for (const c of [customer, canary, { ...customer, id: 'c2' }]) {
      for (const fields of [['email'], ['email', 'phone'], ['name']]) {
        const base = reveal({ actor, customer: c, fields });
        variants.push(base, { ...base, purpose: undefined }, { ...base, case: caseFor(agent, customer, { closedAt: '2026-03-01T09:00:00.000Z' }) });
      }
    }
  }

  it('answers exactly as Cedar does, hit or miss', () => {
    const uncached = loadPolicyEngine({ cacheSize: 0 });
    const cached = loadPolicyEngine({ cacheSize: 200 });
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < variants.length; i++) {
        const req = variants[(i * 7 + round * 13) % variants.length]!;
        expect(cached.decideReveal(req), `variant ${i}, round ${round}`).toEqual(uncached.decideReveal(req));
      }
    }
    const stats = cached.cacheStats();
    expect(stats.hits).toBeGreaterThan(0);
    expect(stats.hits).toBe(2 * variants.length);
    expect(stats.size).toBe(variants.length);
    expect(uncached.cacheStats()).toMatchObject({ hits: 0, size: 0, capacity: 0 });
  });

  /** `kept` is answered from the cache, `gone` is asked of Cedar again. */
  function expectKeptAndGone(engine: PolicyEngine, kept: RevealRequest, gone: RevealRequest): void {
    const before = engine.cacheStats();
    engine.decideReveal(kept);
    expect(engine.cacheStats().hits).toBe(before.hits + 1);
    engine.decideReveal(gone);
    expect(engine.cacheStats().misses).toBe(before.misses + 1);
  }

  it('remembers the least recently used answers last, within its capacity', () => {
    const small = loadPolicyEngine({ cacheSize: 2 });
    const [a, b, c] = [reveal(), reveal({ fields: ['phone'] }), reveal({ customer: canary })];
    small.decideReveal(a);
    small.decideReveal(b);
    small.decideReveal(a); // a is now the most recent; b leaves when c arrives
    small.decideReveal(c);
    expectKeptAndGone(small, a, b);
    expect(small.cacheStats().size).toBe(2);
  });

  it('moves an answer hit in the older half of its capacity to the back of the line', () => {
    const local = loadPolicyEngine({ cacheSize: 4 });
    const [a, b, c, d, e, f] = [reveal(), reveal({ fields: ['phone'] }), reveal({ customer: canary }), reveal({ fields: ['name'] }), reveal({ fields: ['email', 'phone'] }), reveal({ fields: ['phone', 'email'] })];
    for (const r of [a, b, c, d]) local.decideReveal(r);
    local.decideReveal(a); // a is the oldest: it moves to the back, b goes first
    local.decideReveal(e);
    local.decideReveal(f);
    expectKeptAndGone(local, a, b);
  });

  it('keys on time-dependent facts: a case closed since is a fresh question', () => {
    const local = loadPolicyEngine({ cacheSize: 10 });
    const req = reveal();
    expect(local.decideReveal(req).decision).toBe('allow');
    const closedNow = { ...req, case: { ...req.case!, closedAt: '2026-03-02T09:59:00.000Z' } };
    expect(local.decideReveal(closedNow)).toMatchObject({ decision: 'deny', reason: 'case_closed' });
    const later = { ...req, actor: { ...agent, leftAt: '2026-03-02T09:00:00.000Z' } };
    expect(local.decideReveal(later)).toMatchObject({ decision: 'deny', reason: 'actor_suspended' });
  });

  it('hands out decisions no caller can change for the next one', () => {
    const local = loadPolicyEngine({ cacheSize: 10 });
    const d = local.decideReveal(reveal({ customer: canary }));
    expect(Object.isFrozen(d) && Object.isFrozen(d.policies)).toBe(true);
    expect(() => (d.policies as string[]).push('x')).toThrow();
  });
});
