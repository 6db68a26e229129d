/**
 * Managing the records behind decisions — customers, employees, cases — through the API.
 * Same validation as import, a Cedar `manage` decision, and the decision recorded before
 * the write, like every access.
 */
import { ConflictError, NotFoundError } from '../errors.ts';
import type { CaseRecord, CustomerInput, Employee, EmployeeStatus } from '../model.ts';
import type { ManageOperation, PolicyEngine, RecordResource } from '../policy/index.ts';
import type { Store } from '../store/store.ts';
import { customerSealer, type LiveKeyRing } from '../vault/index.ts';
import { masked, type Broker, type MaskedCustomer } from './broker.ts';
import { DecisionLog, type DecisionFacts, type RequestContext } from './decision-log.ts';
import type { Recorder } from './recorder.ts';

export interface RecordManagerDeps {
  store: Store;
  keyRing: LiveKeyRing;
  policy: PolicyEngine;
  recorder: Recorder;
  broker: Broker;
  now: () => Date;
}

export class RecordManager {
  private readonly decisions: DecisionLog;

  constructor(private readonly deps: RecordManagerDeps) {
    this.decisions = new DecisionLog(deps.recorder, deps.now);
  }

  private async authorize(actorId: string, operation: ManageOperation, resource: RecordResource, facts: Omit<DecisionFacts, 'actor'>, ctx: RequestContext): Promise<void> {
    const actor = await this.deps.store.employees.get(actorId);
    const decision = this.deps.policy.decide({ action: 'manage', operation, actor, resource, now: this.deps.now() });
    await this.decisions.enforce({ actor: actorId, ...facts }, decision, ctx);
  }

  /** Create (must not exist) or replace (must exist) a customer; PII is sealed like an import. */
  async putCustomer(actorId: string, input: CustomerInput, operation: 'create' | 'update', ctx: RequestContext): Promise<MaskedCustomer> {
    const existing = await this.deps.store.customers.get(input.id);
    if (operation === 'create' && existing) throw new ConflictError(`customer "${input.id}" already exists; PUT /v1/customers/${input.id} replaces it`);
    if (operation === 'update' && !existing) throw new NotFoundError(`no customer "${input.id}"`);
    const resource: RecordResource = existing ? { type: 'Customer', customer: existing } : { type: 'Customer', id: input.id };
    await this.authorize(actorId, operation, resource, { action: 'update', customers: [input.id], fields: [] }, ctx);
    const sealed = customerSealer(this.deps.keyRing.current)(input);
    await this.deps.store.customers.upsertMany([sealed], this.deps.now());
    this.deps.broker.forgetCustomer(input.id);
    return masked(sealed);
  }

  /** Crypto-shred: the record and its data key go; no copy of its sealed fields opens again. */
  async deleteCustomer(actorId: string, id: string, ctx: RequestContext): Promise<void> {
    const existing = await this.deps.store.customers.get(id);
    if (!existing) throw new NotFoundError(`no customer "${id}"`);
    await this.authorize(actorId, 'delete', { type: 'Customer', customer: existing }, { action: 'delete', customers: [id], fields: [] }, ctx);
    await this.deps.store.customers.delete(id);
    this.deps.broker.forgetCustomer(id);
  }

  async getEmployee(actorId: string, id: string, ctx: RequestContext): Promise<Employee> {
    const employee = await this.deps.store.employees.get(id);
    if (!employee) throw new NotFoundError(`no employee "${id}"`);
    const actor = await this.deps.store.employees.get(actorId);
    const decision = this.deps.policy.decide({ action: 'view', actor, resource: { type: 'Employee', employee }, now: this.deps.now() });
    await this.decisions.enforce({ actor: actorId, action: 'view', customers: [], fields: [] }, decision, ctx);
    return employee;
  }

  async putEmployee(actorId: string, employee: Employee, operation: 'create' | 'update', ctx: RequestContext): Promise<Employee> {
    const existing = await this.deps.store.employees.get(employee.id);
    if (operation === 'create' && existing) throw new ConflictError(`employee "${employee.id}" already exists; PUT /v1/employees/${employee.id} replaces it`);
    if (operation === 'update' && !existing) throw new NotFoundError(`no employee "${employee.id}"`);
    const resource: RecordResource = existing ? { type: 'Employee', employee: existing } : { type: 'Employee', id: employee.id };
    await this.authorize(actorId, operation, resource, { action: 'update', customers: [], fields: [] }, ctx);
    await this.deps.store.employees.upsertMany([employee], this.deps.now());
    return employee;
  }

  /** Suspend (takes effect on the next request: every decision reads the current status) or reinstate. */
  async setEmployeeStatus(actorId: string, id: string, status: EmployeeStatus, ctx: RequestContext): Promise<Employee> {
    const existing = await this.deps.store.employees.get(id);
    if (!existing) throw new NotFoundError(`no employee "${id}"`);
    await this.authorize(actorId, 'update', { type: 'Employee', employee: existing }, { action: 'update', customers: [], fields: [] }, ctx);
    await this.deps.store.employees.setStatus(id, status, this.deps.now());
    return { ...existing, status };
  }

  async getCase(actorId: string, id: string, ctx: RequestContext): Promise<CaseRecord> {
    const found = await this.deps.store.cases.get(id);
    if (!found) throw new NotFoundError(`no case "${id}"`);
    const actor = await this.deps.store.employees.get(actorId);
    const decision = this.deps.policy.decide({ action: 'view', actor, resource: { type: 'Case', case: found }, now: this.deps.now() });
    await this.decisions.enforce({ actor: actorId, action: 'view', customers: [found.customer], fields: [] }, decision, ctx);
    return found;
  }

  /** A case must point at an existing employee and customer, as on import. */
  async putCase(actorId: string, record: CaseRecord, operation: 'create' | 'update', ctx: RequestContext): Promise<CaseRecord> {
    const existing = await this.deps.store.cases.get(record.id);
    if (operation === 'create' && existing) throw new ConflictError(`case "${record.id}" already exists; PUT /v1/cases/${record.id} replaces it`);
    if (operation === 'update' && !existing) throw new NotFoundError(`no case "${record.id}"`);
    if (!(await this.deps.store.employees.get(record.employee))) throw new NotFoundError(`no employee "${record.employee}" (field "employee")`);
    if (!(await this.deps.store.customers.exists(record.customer))) throw new NotFoundError(`no customer "${record.customer}" (field "customer")`);
    const resource: RecordResource = existing ? { type: 'Case', case: existing } : { type: 'Case', id: record.id };
    await this.authorize(actorId, operation, resource, { action: 'update', customers: [record.customer], fields: [] }, ctx);
    await this.deps.store.cases.upsertMany([record], this.deps.now());
    return record;
  }

  async closeCase(actorId: string, id: string, ctx: RequestContext): Promise<CaseRecord> {
    const existing = await this.deps.store.cases.get(id);
    if (!existing) throw new NotFoundError(`no case "${id}"`);
    if (existing.closedAt) throw new ConflictError(`case "${id}" was closed at ${existing.closedAt}`);
    await this.authorize(actorId, 'close', { type: 'Case', case: existing }, { action: 'update', customers: [existing.customer], fields: [] }, ctx);
    const at = this.deps.now();
    await this.deps.store.cases.close(id, at);
    return { ...existing, closedAt: at.toISOString() };
  }
}
