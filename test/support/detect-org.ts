/**
 * A small hand-built organisation for the detectors' unit tests: a team of agents working
 * cases, leads without cases, an investigator, customers with a few VIPs and a canary, and a
 * deterministic generator of honest days. Tests add the pattern under test on top.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryDirectory } from '../../src/detect/directory.ts';
import { DetectionEngine, type DetectionOptions } from '../../src/detect/engine.ts';
import type { Alert } from '../../src/detect/alert.ts';
import type { AccessEvent } from '../../src/model.ts';
import { demoCustomer, seededRandom } from '../../src/simulate/demo-org.ts';

export const DAY = 86_400_000;
export const HOUR = 3_600_000;
export const MINUTE = 60_000;
/** A Monday. */
export const START = Date.parse('2026-03-02T00:00:00Z');

export function customerId(i: number): string {
  return `cus-${String(i).padStart(6, '0')}`;
}

export class TestOrg {
  readonly directory = new MemoryDirectory();
  readonly events: AccessEvent[] = [];
  private readonly random: () => number;
  private nextCase = 1;
  private nextEvent = 1;

  /** The canary customer's number. */
  readonly canaryIndex: number;

  constructor(readonly customers = 5000, seed = 7) {
    this.random = seededRandom(seed);
    this.canaryIndex = Math.min(4242, customers - 1);
    for (let i = 1; i <= customers; i++) {
      this.directory.putCustomer({ id: customerId(i), country: 'IT', canary: i === this.canaryIndex, vip: i % 200 === 0 });
    }
  }

  get canary(): string {
    return customerId(this.canaryIndex);
  }

  employee(id: string, team: string, role: string, hiredAt = START - 365 * DAY, leftAt?: number): string {
    this.directory.putEmployee({ id, team, role, location: 'Milan', hiredAt: new Date(hiredAt).toISOString(), ...(leftAt !== undefined ? { leftAt: new Date(leftAt).toISOString() } : {}) });
    return id;
  }

  /** `n` employees `<prefix>-1…n` in one team and role. */
  team(prefix: string, n: number, team: string, role: string): string[] {
    return Array.from({ length: n }, (_, i) => this.employee(`${prefix}-${i + 1}`, team, role));
  }

  /** Any honest-looking customer (not the canary, not a VIP). */
  someCustomer(): string {
    for (;;) {
      const i = 1 + Math.floor(this.random() * this.customers);
      if (i !== this.canaryIndex && i % 200 !== 0) return customerId(i);
    }
  }

  rand(): number {
    return this.random();
  }

  event(ms: number, actor: string, action: AccessEvent['action'], customers: string[], extra: Partial<AccessEvent> = {}): AccessEvent {
    const e: AccessEvent = {
      id: `ev-${this.nextEvent++}`,
      time: new Date(ms).toISOString(),
      actor,
      action,
      customers,
      fields: action === 'reveal' || action === 'export' ? ['email', 'phone'] : [],
      decision: 'allow',
      channel: 'console',
      ip: '10.1.2.3',
      ...extra,
    };
    this.events.push(e);
    return e;
  }

  /** A case assigned to (and opened by) `employee`, `before` ms ahead of `ms`. */
  openCase(employee: string, customer: string, ms: number, closeAfter?: number, openedBy = employee): string {
    const id = `case-${this.nextCase++}`;
    this.directory.putCase({ id, employee, customer, openedAt: new Date(ms).toISOString(), ...(closeAfter !== undefined ? { closedAt: new Date(ms + closeAfter).toISOString() } : {}), kind: 'support', openedBy });
    return id;
  }

  /** An honest agent's day: `tasks` cases opened by a lead hours ahead, each a view and a reveal under it. */
  agentDay(employee: string, day: number, tasks: number, opts: { hour?: number; purpose?: boolean } = {}): void {
    const start = START + day * DAY + (opts.hour ?? 8) * HOUR;
    for (let k = 0; k < tasks; k++) {
      const t = start + Math.floor((k / tasks) * 8 * HOUR + this.random() * 10 * MINUTE);
      const customer = this.someCustomer();
      const ref = this.openCase(employee, customer, t - 3 * HOUR, 5 * HOUR, 'lead-1');
      const purpose = opts.purpose === false ? {} : { purpose: { kind: 'case', ref } };
      this.event(t, employee, 'view', [customer], purpose);
      this.event(t + 2 * MINUTE, employee, 'reveal', [customer], purpose);
    }
  }

  /** A team lead's day: escalations looked at and revealed with no case of their own. */
  leadDay(employee: string, day: number, reveals: number): void {
    const start = START + day * DAY + 9 * HOUR;
    for (let k = 0; k < reveals; k++) {
      const t = start + Math.floor((k / reveals) * 7 * HOUR);
      const customer = this.someCustomer();
      this.event(t, employee, 'view', [customer]);
      this.event(t + MINUTE, employee, 'reveal', [customer]);
    }
  }

  /** Weekdays of `days` from START (weekends off). */
  static weekdays(from: number, to: number): number[] {
    const out: number[] = [];
    for (let d = from; d < to; d++) if (d % 7 < 5) out.push(d);
    return out;
  }

  /** Runs every event through a fresh engine in time order; every alert in its latest state. */
  detect(options: DetectionOptions = {}): { alerts: Alert[]; engine: DetectionEngine } {
    const engine = new DetectionEngine(this.directory, options);
    const alerts = new Map<string, Alert>();
    const ordered = [...this.events].sort((a, b) => a.time.localeCompare(b.time) || Number(a.id.slice(3)) - Number(b.id.slice(3)));
    for (const e of ordered) for (const a of engine.observe(e)) alerts.set(a.id, a);
    for (const a of engine.flush()) alerts.set(a.id, a);
    return { alerts: [...alerts.values()], engine };
  }
}

export function alertsFor(alerts: readonly Alert[], employee: string): Alert[] {
  return alerts.filter((a) => a.employee === employee);
}

/** Writes the organisation as the four DESIGN.md files (customers with demo PII) into `dir`. */
export function writeOrgFiles(org: TestOrg, dir: string, employees: readonly string[]): { customers: string; employees: string; cases: string; events: string } {
  const files = { customers: join(dir, 'customers.jsonl'), employees: join(dir, 'employees.jsonl'), cases: join(dir, 'cases.jsonl'), events: join(dir, 'events.jsonl') };
  const customerLines: string[] = [];
  for (let i = 1; i <= org.customers; i++) {
    const flags = org.directory.customer(customerId(i))!;
    customerLines.push(JSON.stringify({ ...demoCustomer(i), ...(flags.canary ? { canary: true } : {}), ...(flags.vip ? { vip: true } : {}) }));
  }
  writeFileSync(files.customers, `${customerLines.join('\n')}\n`);
  writeFileSync(files.employees, `${employees.map((id) => JSON.stringify({ name: `Person ${id}`, ...org.directory.employee(id)! })).join('\n')}\n`);
  const cases: string[] = [];
  for (let i = 1; org.directory.case(`case-${i}`); i++) cases.push(JSON.stringify(org.directory.case(`case-${i}`)));
  writeFileSync(files.cases, cases.length ? `${cases.join('\n')}\n` : '');
  const ordered = [...org.events].sort((a, b) => a.time.localeCompare(b.time) || Number(a.id.slice(3)) - Number(b.id.slice(3)));
  writeFileSync(files.events, `${ordered.map((e) => JSON.stringify(e)).join('\n')}\n`);
  return files;
}
