/**
 * Managing the records behind decisions — customers, employees, cases — through the API.
 * Same validation as import, then decide → record → act, like every access: each request is a
 * Cedar `view` or `manage` decision, recorded with what it acted on (`target`), what it did
 * (`operation`) and what it changed (`change`: before → after of the non-PII attributes),
 * before anything is written or returned.
 *
 * An id that names no record is decided on the id alone and recorded either way: an actor who
 * may not do the operation gets the same 403 whether or not the record exists; only one who may
 * learns that it is missing (a recorded denial, `not_found`, 404).
 */
import { ConflictError, InvalidInputError, NotFoundError } from '../errors.ts';
import type { AttributeChange, CaseRecord, CustomerInput, CustomerProfile, Employee, EmployeeStatus, EventTarget, RecordedEvent } from '../model.ts';
import type { DecideRequest, ManageChange, ManageOperation, PolicyDecision, PolicyEngine, RecordResource } from '../policy/index.ts';
import type { CaseEvent, CaseFilter } from '../store/cases.ts';
import type { Store } from '../store/store.ts';
import type { Vault } from '../vault/index.ts';
import { storeCustomers } from './customer-writes.ts';
import { masked, type Broker, type MaskedCustomer } from './broker.ts';
import { DecisionLog, type DecisionFacts, type RequestContext } from './decision-log.ts';
import type { Recorder } from './recorder.ts';

export interface RecordManagerDeps {
  store: Store;
  vault: Vault;
  policy: PolicyEngine;
  recorder: Recorder;
  broker: Broker;
  now: () => Date;
}

/** How far a new case's openedAt may stray from the clock: a client's clock, not a back-dating. */
export const CLOCK_SKEW_MS = 5 * 60_000;

/** A case as the API takes it: openedAt defaults to now, closedAt is the clock's (close/reopen). */
export type CaseBody = Omit<CaseRecord, 'openedAt' | 'closedAt'> & { openedAt?: string; closedAt?: string };

/** An employee as a replacing body gives it: a body that states no status keeps the stored one. */
export type EmployeeBody = Omit<Employee, 'status'> & { status?: EmployeeStatus };

export interface CaseHistory {
  id: string;
  /** Every act, oldest first. */
  events: CaseEvent[];
  /** Who held the case when: one period per assignment, the current one without `to`. */
  assignments: Array<{ employee: string; from: string; to?: string }>;
}

export interface Page<T> {
  items: T[];
  /** Pass as `after` for the next page; absent on the last. */
  next?: string;
}

/** Non-PII attributes as recorded in `change`: text, null when absent. */
type Attributes = Record<string, string | null>;

type AskManage = { action: 'manage'; operation: ManageOperation; resource: RecordResource } & ManageChange;
type Ask = Omit<Extract<DecideRequest, { action: 'view' }>, 'actor' | 'now'> | AskManage;

export class RecordManager {
  private readonly decisions: DecisionLog;

  constructor(private readonly deps: RecordManagerDeps) {
    this.decisions = new DecisionLog(deps.recorder, deps.now);
  }

  // ------------------------------------------------------------------ customers

  async createCustomer(actorId: string, input: CustomerInput, ctx: RequestContext): Promise<MaskedCustomer> {
    const existing = await this.deps.store.customers.get(input.id);
    const change = changeOf(undefined, customerAttributes(input));
    const refusal = existing ? new ConflictError(`customer "${input.id}" already exists; PUT /v1/customers/${input.id} replaces it`) : undefined;
    return this.writeCustomer(actorId, input, 'create', { type: 'Customer', id: input.id }, change, refusal, ctx);
  }

  /** Replace a customer's clear profile and PII; the record's PII is resealed like an import. */
  async replaceCustomer(actorId: string, input: CustomerInput, ctx: RequestContext): Promise<MaskedCustomer> {
    const existing = await this.deps.store.customers.get(input.id);
    const change = changeOf(existing && customerAttributes(existing), customerAttributes(input));
    const resource: RecordResource = existing ? { type: 'Customer', customer: existing } : { type: 'Customer', id: input.id };
    return this.writeCustomer(actorId, input, 'replace', resource, change, existing ? undefined : new NotFoundError(`no customer "${input.id}"`), ctx);
  }

  private async writeCustomer(
    actorId: string,
    input: CustomerInput,
    operation: 'create' | 'replace',
    resource: RecordResource,
    change: Record<string, AttributeChange>,
    refusal: Error | undefined,
    ctx: RequestContext,
  ): Promise<MaskedCustomer> {
    const target: EventTarget = { type: 'customer', id: input.id };
    await this.decideAndRecord(actorId, { action: 'manage', operation, resource, changes: Object.keys(change) }, facts('update', operation, target, [input.id], change), ctx, refusal);
    const [sealed] = await storeCustomers(this.deps.store, this.deps.vault, [input], this.deps.now());
    this.deps.broker.forgetCustomer(input.id);
    return masked(sealed!);
  }

  /** Crypto-shred: the record and its data key go; no copy of its sealed fields opens again. */
  async deleteCustomer(actorId: string, id: string, ctx: RequestContext): Promise<void> {
    const existing = await this.deps.store.customers.get(id);
    const change = existing ? changeOf(customerAttributes(existing), undefined) : {};
    await this.decideAndRecord(
      actorId,
      { action: 'manage', operation: 'delete', resource: existing ? { type: 'Customer', customer: existing } : { type: 'Customer', id }, changes: Object.keys(change) },
      facts('delete', 'delete', { type: 'customer', id }, [id], change),
      ctx,
      existing ? undefined : new NotFoundError(`no customer "${id}"`),
    );
    await this.deps.store.customers.delete(id);
    this.deps.broker.forgetCustomer(id);
  }

  // ------------------------------------------------------------------ employees

  async getEmployee(actorId: string, id: string, ctx: RequestContext): Promise<Employee> {
    const employee = await this.deps.store.employees.get(id);
    await this.decideAndRecord(
      actorId,
      { action: 'view', resource: employee ? { type: 'Employee', employee } : { type: 'Employee', id } },
      facts('view', 'view', { type: 'employee', id }, []),
      ctx,
      employee ? undefined : new NotFoundError(`no employee "${id}"`),
    );
    return employee!;
  }

  async listEmployees(actorId: string, page: { after?: string; limit: number }, ctx: RequestContext): Promise<Page<Employee>> {
    return this.listPage(actorId, 'employees', page.limit, () => this.deps.store.employees.list({ ...page, limit: page.limit + 1 }), () => [], pageDetails(page), ctx);
  }

  async createEmployee(actorId: string, employee: Employee, ctx: RequestContext): Promise<Employee> {
    const existing = await this.deps.store.employees.get(employee.id);
    const change = changeOf(undefined, employeeAttributes(employee));
    const refusal = existing ? new ConflictError(`employee "${employee.id}" already exists; PUT /v1/employees/${employee.id} replaces it`) : undefined;
    await this.decideAndRecord(
      actorId,
      { action: 'manage', operation: 'create', resource: { type: 'Employee', id: employee.id }, changes: Object.keys(change) },
      facts('update', 'create', { type: 'employee', id: employee.id }, [], change),
      ctx,
      refusal,
    );
    await this.deps.store.employees.upsertMany([employee], this.deps.now());
    return employee;
  }

  /** Replace an employee's record. Changing one's own role or status is for someone else to do (policy). */
  async replaceEmployee(actorId: string, body: EmployeeBody, ctx: RequestContext): Promise<Employee> {
    const existing = await this.deps.store.employees.get(body.id);
    const next: Employee = { ...body, status: body.status ?? existing?.status ?? 'active' };
    const change = changeOf(existing && employeeAttributes(existing), employeeAttributes(next));
    await this.decideAndRecord(
      actorId,
      { action: 'manage', operation: 'replace', resource: existing ? { type: 'Employee', employee: existing } : { type: 'Employee', id: body.id }, changes: Object.keys(change) },
      facts('update', 'replace', { type: 'employee', id: body.id }, [], existing ? change : {}),
      ctx,
      existing ? undefined : new NotFoundError(`no employee "${body.id}"`),
    );
    await this.deps.store.employees.upsertMany([next], this.deps.now());
    return next;
  }

  /** Suspend (takes effect on the next request: every decision reads the current status) or reinstate. */
  async setEmployeeStatus(actorId: string, id: string, status: EmployeeStatus, ctx: RequestContext): Promise<Employee> {
    const existing = await this.deps.store.employees.get(id);
    const operation = status === 'suspended' ? 'suspend' : 'reinstate';
    const change = existing ? changeOf(employeeAttributes(existing), employeeAttributes({ ...existing, status })) : {};
    await this.decideAndRecord(
      actorId,
      { action: 'manage', operation, resource: existing ? { type: 'Employee', employee: existing } : { type: 'Employee', id }, changes: Object.keys(change) },
      facts('update', operation, { type: 'employee', id }, [], change),
      ctx,
      existing ? undefined : new NotFoundError(`no employee "${id}"`),
    );
    await this.deps.store.employees.setStatus(id, status, this.deps.now());
    return { ...existing!, status };
  }

  // ------------------------------------------------------------------ cases

  getCase(actorId: string, id: string, ctx: RequestContext): Promise<CaseRecord> {
    return this.viewCase(actorId, id, 'view', ctx);
  }

  /** Every act of a case and the assignment periods they make; recorded as a read of the case. */
  async caseHistory(actorId: string, id: string, ctx: RequestContext): Promise<CaseHistory> {
    const found = await this.viewCase(actorId, id, 'read', ctx);
    const events = await this.deps.store.cases.history(found);
    return { id, events, assignments: assignmentsOf(events) };
  }

  private async viewCase(actorId: string, id: string, operation: 'view' | 'read', ctx: RequestContext): Promise<CaseRecord> {
    const found = await this.deps.store.cases.get(id);
    await this.decideAndRecord(
      actorId,
      { action: 'view', resource: found ? { type: 'Case', case: found } : { type: 'Case', id } },
      facts('view', operation, { type: 'case', id }, found ? [found.customer] : []),
      ctx,
      found ? undefined : new NotFoundError(`no case "${id}"`),
    );
    return found!;
  }

  async listCases(actorId: string, filter: CaseFilter, ctx: RequestContext): Promise<Page<CaseRecord>> {
    const now = this.deps.now();
    const details = pageDetails(filter);
    for (const key of ['employee', 'customer', 'open'] as const) if (filter[key] !== undefined) details[key] = filter[key];
    return this.listPage(
      actorId,
      'cases',
      filter.limit,
      () => this.deps.store.cases.list({ ...filter, limit: filter.limit + 1 }, now),
      (page) => [...new Set(page.map((c) => c.customer))],
      details,
      ctx,
    );
  }

  /**
   * Open a case, now: a body may state openedAt only within CLOCK_SKEW_MS of the clock, and
   * no closedAt (only an import carries an earlier history). It must name an existing employee
   * and customer, as on import.
   */
  async openCase(actorId: string, body: CaseBody, ctx: RequestContext): Promise<CaseRecord> {
    const now = this.deps.now();
    if (body.closedAt !== undefined) throw new InvalidInputError(`field "closedAt": a case opens open; POST /v1/cases/${body.id}/close closes it`, { field: 'closedAt' });
    const openedAt = body.openedAt ?? now.toISOString();
    if (Math.abs(Date.parse(openedAt) - now.getTime()) > CLOCK_SKEW_MS) {
      throw new InvalidInputError(`field "openedAt": must be now (within ${CLOCK_SKEW_MS / 60_000} minutes of ${now.toISOString()}) or left out; only an import may carry an earlier opening`, { field: 'openedAt' });
    }
    const { closedAt: _c, ...rest } = body;
    const record: CaseRecord = { ...rest, openedAt };
    const [existing, assignee, customerExists] = await Promise.all([
      this.deps.store.cases.get(record.id),
      this.deps.store.employees.get(record.employee),
      this.deps.store.customers.exists(record.customer),
    ]);
    const change = changeOf(undefined, caseAttributes(record));
    const refusal = existing
      ? new ConflictError(`case "${record.id}" already exists; PUT /v1/cases/${record.id} edits it`)
      : !assignee
        ? new NotFoundError(`no employee "${record.employee}" (field "employee")`)
        : !customerExists
          ? new NotFoundError(`no customer "${record.customer}" (field "customer")`)
          : undefined;
    const recorded = await this.decideAndRecord(
      actorId,
      { action: 'manage', operation: 'create', resource: { type: 'Case', id: record.id }, changes: Object.keys(change), assignee: record.employee },
      facts('update', 'create', { type: 'case', id: record.id }, [record.customer], change),
      ctx,
      refusal,
    );
    const opened = await this.deps.store.cases.open(record, { at: openedAt, operation: 'open', employee: record.employee, actor: actorId, seq: recorded.seq }, now);
    if (!opened) throw new ConflictError(`case "${record.id}" was created meanwhile`);
    return record;
  }

  /**
   * Edit a case's kind and extra fields. Who holds it, whose it is and when it opened and
   * closed are not edited here: a body must state them as they are, or the request is refused
   * (409) with the route that does change them, so no assignment is ever lost silently.
   */
  async replaceCase(actorId: string, body: CaseBody, ctx: RequestContext): Promise<CaseRecord> {
    const existing = await this.deps.store.cases.get(body.id);
    const { openedAt: _o, closedAt: _c, ...edits } = body;
    const next: CaseRecord | undefined = existing && { ...edits, employee: existing.employee, customer: existing.customer, openedAt: existing.openedAt, ...(existing.closedAt !== undefined ? { closedAt: existing.closedAt } : {}) };
    const change = existing ? changeOf(caseAttributes(existing), caseAttributes(next!)) : {};
    await this.decideAndRecord(
      actorId,
      { action: 'manage', operation: 'replace', resource: existing ? { type: 'Case', case: existing } : { type: 'Case', id: body.id }, changes: Object.keys(change), assignee: existing?.employee ?? body.employee },
      facts('update', 'replace', { type: 'case', id: body.id }, existing ? [existing.customer] : [], change),
      ctx,
      existing ? caseEditRefusal(existing, body) : new NotFoundError(`no case "${body.id}"`),
    );
    await this.transition(existing!, next!, undefined);
    return next!;
  }

  /** Hand a case to another employee; the earlier assignment stays in its history. */
  async reassignCase(actorId: string, id: string, employeeId: string, ctx: RequestContext): Promise<CaseRecord> {
    const [existing, assignee] = await Promise.all([this.deps.store.cases.get(id), this.deps.store.employees.get(employeeId)]);
    const next = existing && { ...existing, employee: employeeId };
    const refusal = !existing
      ? new NotFoundError(`no case "${id}"`)
      : !assignee
        ? new NotFoundError(`no employee "${employeeId}" (field "employee")`)
        : existing.employee === employeeId
          ? new ConflictError(`case "${id}" is already assigned to "${employeeId}"`)
          : undefined;
    return this.caseAct(actorId, id, 'reassign', existing, next, employeeId, refusal, ctx);
  }

  async closeCase(actorId: string, id: string, ctx: RequestContext): Promise<CaseRecord> {
    const existing = await this.deps.store.cases.get(id);
    const next = existing && { ...existing, closedAt: this.deps.now().toISOString() };
    const refusal = !existing
      ? new NotFoundError(`no case "${id}"`)
      : existing.closedAt !== undefined
        ? new ConflictError(`case "${id}" was closed at ${existing.closedAt}; POST /v1/cases/${id}/reopen reopens it`)
        : undefined;
    return this.caseAct(actorId, id, 'close', existing, next, existing?.employee, refusal, ctx);
  }

  /** Reopen a closed case: it justifies reveals by its assignee again. */
  async reopenCase(actorId: string, id: string, ctx: RequestContext): Promise<CaseRecord> {
    const existing = await this.deps.store.cases.get(id);
    let next: CaseRecord | undefined;
    if (existing) {
      const { closedAt: _c, ...open } = existing;
      next = open;
    }
    const refusal = !existing
      ? new NotFoundError(`no case "${id}"`)
      : existing.closedAt === undefined
        ? new ConflictError(`case "${id}" is not closed`)
        : undefined;
    return this.caseAct(actorId, id, 'reopen', existing, next, existing?.employee, refusal, ctx);
  }

  /** Reassign, close or reopen: decided, recorded, then written with its act in the history. */
  private async caseAct(
    actorId: string,
    id: string,
    operation: 'reassign' | 'close' | 'reopen',
    existing: CaseRecord | undefined,
    next: CaseRecord | undefined,
    assignee: string | undefined,
    refusal: Error | undefined,
    ctx: RequestContext,
  ): Promise<CaseRecord> {
    const change = existing && next ? changeOf(caseAttributes(existing), caseAttributes(next)) : {};
    const recorded = await this.decideAndRecord(
      actorId,
      { action: 'manage', operation, resource: existing ? { type: 'Case', case: existing } : { type: 'Case', id }, changes: Object.keys(change), ...(assignee !== undefined ? { assignee } : {}) },
      facts('update', operation, { type: 'case', id }, existing ? [existing.customer] : [], change),
      ctx,
      refusal,
    );
    await this.transition(existing!, next!, { at: this.deps.now().toISOString(), operation, employee: next!.employee, actor: actorId, seq: recorded.seq });
    return next!;
  }

  private async transition(from: CaseRecord, to: CaseRecord, event: CaseEvent | undefined): Promise<void> {
    if (!(await this.deps.store.cases.transition(from, to, event, this.deps.now()))) {
      throw new ConflictError(`case "${from.id}" changed meanwhile; read it again`);
    }
  }

  // ------------------------------------------------------------------ deciding and recording

  /**
   * Decide, and record the decision (a deny throws its 403). An allowed request that cannot go
   * ahead — `refusal`: the record is missing, or its state forbids the act — is recorded as a
   * denial whose reason is the error's code (`not_found`, `conflict`), and the error is thrown.
   * A denial keeps the change that was asked for: what someone tried to do is worth reading.
   */
  private async decideAndRecord(actorId: string, ask: Ask, eventFacts: Omit<DecisionFacts, 'actor'>, ctx: RequestContext, refusal?: Error): Promise<RecordedEvent> {
    const decision = await this.decide(actorId, ask);
    const recordedFacts: DecisionFacts = { actor: actorId, ...eventFacts };
    if (decision.decision === 'allow' && refusal) {
      await this.decisions.deny(recordedFacts, refusal instanceof NotFoundError ? 'not_found' : 'conflict', ctx);
      throw refusal;
    }
    return this.decisions.enforce(recordedFacts, decision, ctx);
  }

  private async decide(actorId: string, ask: Ask): Promise<PolicyDecision> {
    const actor = await this.deps.store.employees.get(actorId);
    return this.deps.policy.decide({ ...ask, actor, now: this.deps.now() } as DecideRequest);
  }

  /** A page of a list: decided as a view of Directory::"<list>", recorded as a read with what it returned. */
  private async listPage<T extends { id: string }>(
    actorId: string,
    list: 'employees' | 'cases',
    limit: number,
    read: () => Promise<T[]>,
    customersOf: (page: T[]) => string[],
    details: Record<string, string | number | boolean>,
    ctx: RequestContext,
  ): Promise<Page<T>> {
    const decision = await this.decide(actorId, { action: 'view', resource: { type: 'Directory', id: list } });
    const target: EventTarget = { type: 'directory', id: list };
    if (decision.decision === 'deny') await this.decisions.enforce({ actor: actorId, ...facts('view', 'read', target, []), details }, decision, ctx);
    const rows = await read();
    const items = rows.slice(0, limit);
    await this.decisions.enforce({ actor: actorId, ...facts('view', 'read', target, customersOf(items)), details: { ...details, returned: items.length } }, decision, ctx);
    return { items, ...(rows.length > limit ? { next: items[items.length - 1]!.id } : {}) };
  }
}

function facts(
  action: DecisionFacts['action'],
  operation: NonNullable<DecisionFacts['operation']>,
  target: EventTarget,
  customers: string[],
  change?: Record<string, AttributeChange>,
): Omit<DecisionFacts, 'actor'> {
  return { action, customers, fields: [], target, operation, ...(change && Object.keys(change).length > 0 ? { change } : {}) };
}

function pageDetails(page: { after?: string; limit: number }): Record<string, string | number | boolean> {
  return { limit: page.limit, ...(page.after !== undefined ? { after: page.after } : {}) };
}

/** The refusal for a PUT that would change what only reassign, close and reopen change. */
function caseEditRefusal(existing: CaseRecord, body: CaseBody): ConflictError | undefined {
  const id = existing.id;
  if (body.employee !== existing.employee) {
    return new ConflictError(`field "employee": PUT does not reassign case "${id}" (assigned to "${existing.employee}"); POST /v1/cases/${id}/reassign {"employee"} does, and keeps the earlier assignment in its history`);
  }
  if (body.customer !== existing.customer) return new ConflictError(`field "customer": a case's customer never changes; close case "${id}" and open another`);
  if (body.openedAt !== undefined && body.openedAt !== existing.openedAt) return new ConflictError(`field "openedAt": case "${id}" opened at ${existing.openedAt}; that does not change`);
  if (body.closedAt !== existing.closedAt && body.closedAt !== undefined) {
    return new ConflictError(`field "closedAt": POST /v1/cases/${id}/close and /reopen close and reopen a case, at the time they are made`);
  }
  return undefined;
}

/** before → after of each attribute that differs; absent on one side counts as null. */
export function changeOf(before: Attributes | undefined, after: Attributes | undefined): Record<string, AttributeChange> {
  const change: Record<string, AttributeChange> = {};
  for (const key of new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])) {
    const b = before?.[key] ?? null;
    const a = after?.[key] ?? null;
    if (b !== a) change[key] = { before: b, after: a };
  }
  return change;
}

/** A customer's clear profile, and the names (never the values) of its PII fields. */
function customerAttributes(c: CustomerInput | CustomerProfile): Attributes {
  const fields = 'pii' in c ? Object.keys(c.pii) : c.fields;
  return {
    country: c.country,
    region: c.region ?? null,
    locale: c.locale ?? null,
    vip: String(c.vip),
    canary: String(c.canary),
    entity: c.entity ?? null,
    fields: [...fields].sort().join(','),
  };
}

function employeeAttributes(e: Employee): Attributes {
  return { role: e.role, status: e.status, team: e.team, manager: e.manager ?? null, location: e.location, hiredAt: e.hiredAt, leftAt: e.leftAt ?? null };
}

function caseAttributes(c: CaseRecord): Attributes {
  return { employee: c.employee, customer: c.customer, openedAt: c.openedAt, closedAt: c.closedAt ?? null, kind: c.kind };
}

/** Assignment periods from a case's acts: each open or reassign starts one and ends the one before. */
export function assignmentsOf(events: readonly CaseEvent[]): CaseHistory['assignments'] {
  const periods: CaseHistory['assignments'] = [];
  for (const e of events) {
    if (e.operation !== 'open' && e.operation !== 'reassign') continue;
    const current = periods.at(-1);
    if (current) current.to = e.at;
    periods.push({ employee: e.employee, from: e.at });
  }
  return periods;
}
