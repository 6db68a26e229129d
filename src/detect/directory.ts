/**
 * What detection knows of the organisation: employees, the clear flags of customers, and cases.
 * The engine reads it through `Directory`; `MemoryDirectory` is filled from files (batch) or
 * from the store (live) and kept current by the management events in the stream itself, so a
 * case opened or an employee's `leftAt` set is seen at the event's place in ledger order.
 */
import type { AccessEvent, CaseRecord, CustomerInput, CustomerProfile, Employee } from '../model.ts';

/** What detection needs of an employee: their peer group, their start and their leaving. */
export type DirectoryEmployee = Pick<Employee, 'id' | 'team' | 'role' | 'location' | 'hiredAt' | 'leftAt'>;

export interface DirectoryCustomer {
  canary: boolean;
  vip: boolean;
  country: string;
  region?: string;
}

export type DirectoryCase = Omit<CaseRecord, 'extra'> & {
  /** Who opened it, when the source says (a case opened by its own assignee reads differently). */
  openedBy?: string;
};

export interface Directory {
  employee(id: string): DirectoryEmployee | undefined;
  customer(id: string): DirectoryCustomer | undefined;
  /** Whether the customer is a canary (asked of every customer of every event: a small set, not the whole directory). */
  isCanary(id: string): boolean;
  case(id: string): DirectoryCase | undefined;
  /** Cases linking this employee to this customer (any state; the caller checks the time). */
  casesLinking(employee: string, customer: string): readonly DirectoryCase[];
  /** Share of customers flagged VIP (the base rate VIP curiosity is measured against). */
  vipShare(): number;
  /** Changes whenever a record is put: what a reader keeps from the directory holds while it stays the same. */
  readonly version: number;
}

/** Whether the case is open at `ms` (with `slack` ms of tolerance either side). */
export function caseOpenAt(c: DirectoryCase, ms: number, slack = 0): boolean {
  return Date.parse(c.openedAt) - slack <= ms && (c.closedAt === undefined || Date.parse(c.closedAt) + slack > ms);
}

export class MemoryDirectory implements Directory {
  private readonly employees = new Map<string, DirectoryEmployee>();
  private readonly customers = new Map<string, DirectoryCustomer>();
  private readonly cases = new Map<string, DirectoryCase>();
  /** employee → customer → cases (nested: no key string built per lookup). */
  private readonly links = new Map<string, Map<string, DirectoryCase[]>>();
  private vips = 0;
  private readonly canaries = new Set<string>();
  version = 0;

  employee(id: string): DirectoryEmployee | undefined {
    return this.employees.get(id);
  }

  customer(id: string): DirectoryCustomer | undefined {
    return this.customers.get(id);
  }

  isCanary(id: string): boolean {
    return this.canaries.size > 0 && this.canaries.has(id);
  }

  case(id: string): DirectoryCase | undefined {
    return this.cases.get(id);
  }

  casesLinking(employee: string, customer: string): readonly DirectoryCase[] {
    return this.links.get(employee)?.get(customer) ?? NONE;
  }

  vipShare(): number {
    return this.customers.size === 0 ? 0 : this.vips / this.customers.size;
  }

  get size(): { employees: number; customers: number; cases: number } {
    return { employees: this.employees.size, customers: this.customers.size, cases: this.cases.size };
  }

  putEmployee(e: Employee | DirectoryEmployee): void {
    this.version++;
    this.employees.set(e.id, {
      id: e.id,
      team: e.team,
      role: e.role,
      location: e.location,
      hiredAt: e.hiredAt,
      ...(e.leftAt !== undefined ? { leftAt: e.leftAt } : {}),
    });
  }

  putCustomer(c: CustomerInput | CustomerProfile | (DirectoryCustomer & { id: string })): void {
    const before = this.customers.get(c.id);
    this.version++;
    if (before?.vip) this.vips--;
    if (c.canary) this.canaries.add(c.id);
    else this.canaries.delete(c.id);
    this.customers.set(c.id, { canary: c.canary, vip: c.vip, country: c.country, ...(c.region ? { region: c.region } : {}) });
    if (c.vip) this.vips++;
  }

  putCase(c: CaseRecord | DirectoryCase): void {
    const openedBy = 'openedBy' in c && typeof c.openedBy === 'string' ? c.openedBy : typeof (c as CaseRecord).extra?.openedBy === 'string' ? ((c as CaseRecord).extra!.openedBy as string) : undefined;
    const before = this.cases.get(c.id);
    if (before) this.unlink(before);
    // Built field by field, not spread: cases are put by the million.
    const record: DirectoryCase = { id: c.id, employee: c.employee, customer: c.customer, openedAt: c.openedAt, kind: c.kind };
    if (c.closedAt !== undefined) record.closedAt = c.closedAt;
    const by = openedBy ?? before?.openedBy;
    if (by !== undefined) record.openedBy = by;
    this.version++;
    this.cases.set(c.id, record);
    let byCustomer = this.links.get(record.employee);
    if (!byCustomer) this.links.set(record.employee, (byCustomer = new Map()));
    const list = byCustomer.get(record.customer);
    if (list) list.push(record);
    else byCustomer.set(record.customer, [record]);
  }

  private unlink(c: DirectoryCase): void {
    const byCustomer = this.links.get(c.employee);
    const list = byCustomer?.get(c.customer)?.filter((x) => x.id !== c.id);
    if (list && list.length > 0) byCustomer!.set(c.customer, list);
    else byCustomer?.delete(c.customer);
  }

  /**
   * Applies a management event recorded by Custos (target, operation, change): cases opened,
   * reassigned, closed or reopened; employees created or changed; customers' flags changed.
   * Denied acts change nothing, nor do ingested events: another system's log speaks of accesses,
   * and a forged "change" in it must not un-flag a canary or open a case. Returns whether the
   * directory changed.
   */
  applyManagementEvent(event: AccessEvent): boolean {
    const { target, change } = event;
    if (!target || event.decision !== 'allow' || !change || event.details?.ingested === true) return false;
    const after = (key: string): string | undefined => change[key]?.after ?? undefined;
    const value = (key: string, current: string | undefined): string | undefined => (key in change ? after(key) : current);
    switch (target.type) {
      case 'case': {
        const existing = this.cases.get(target.id);
        if (event.operation === 'delete') return false;
        const employee = value('employee', existing?.employee);
        const customer = value('customer', existing?.customer);
        const openedAt = value('openedAt', existing?.openedAt) ?? (existing ? undefined : event.time);
        const kind = value('kind', existing?.kind) ?? 'unknown';
        if (!employee || !customer || !openedAt) return false;
        const closedAt = value('closedAt', existing?.closedAt);
        this.putCase({
          id: target.id,
          employee,
          customer,
          openedAt,
          ...(closedAt ? { closedAt } : {}),
          kind,
          ...(existing?.openedBy ? { openedBy: existing.openedBy } : event.operation === 'create' ? { openedBy: event.actor } : {}),
        });
        return true;
      }
      case 'employee': {
        const existing = this.employees.get(target.id);
        const team = value('team', existing?.team);
        const role = value('role', existing?.role);
        const location = value('location', existing?.location) ?? '';
        const hiredAt = value('hiredAt', existing?.hiredAt) ?? event.time;
        if (!team || !role) return false;
        const leftAt = value('leftAt', existing?.leftAt);
        this.putEmployee({ id: target.id, team, role, location, hiredAt, ...(leftAt ? { leftAt } : {}) });
        return true;
      }
      case 'customer': {
        const existing = this.customers.get(target.id);
        if (event.operation === 'delete') return false;
        const country = value('country', existing?.country);
        if (!country) return false;
        const region = value('region', existing?.region);
        const flag = (key: 'vip' | 'canary'): boolean => (key in change ? after(key) === 'true' : (existing?.[key] ?? false));
        this.putCustomer({ id: target.id, country, canary: flag('canary'), vip: flag('vip'), ...(region ? { region } : {}) });
        return true;
      }
      default:
        return false;
    }
  }
}

const NONE: readonly DirectoryCase[] = [];
