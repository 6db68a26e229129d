import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATIONS, parseAccessEvent, parseCase, parseCustomer, parseEmployee, TARGET_TYPES, type AccessEvent, type Where } from '../model.ts';
import { INSIDER_KINDS } from './insiders.ts';
import { runSimulation, simulateToDirectory, SIMULATION_FILES, type Truth } from './simulate.ts';

const size = { employees: 100, customers: 2000, days: 21, seed: 11, start: new Date('2026-03-02T00:00:00Z') };
const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'custos-sim-'));
  dirs.push(dir);
  return dir;
};
/** An events.jsonl line through the model's parser, plus what Custos's own records carry (throws on the first problem). */
function checkEvent(line: string, where: Where): AccessEvent {
  const e = parseAccessEvent(JSON.parse(line), where);
  const check = (ok: boolean, what: string) => {
    if (!ok) throw new Error(`${where.file}:${where.line}: ${what}: ${line}`);
  };
  check(JSON.parse(line).id === e.id, 'id');
  check((e.reason !== undefined) === (e.decision === 'deny'), 'reason on denies only');
  check((TARGET_TYPES as readonly string[]).includes(e.target!.type), 'target');
  check((OPERATIONS as readonly string[]).includes(e.operation!), 'operation');
  check(typeof e.channel === 'string' && typeof e.ip === 'string', 'channel and ip');
  if (e.action === 'search') check(e.search!.hits === e.customers.length, 'search hits');
  return e;
}
const lines = (dir: string, file: string) => readFileSync(join(dir, file), 'utf8').split('\n').filter((l) => l.length > 0);

describe('simulate', () => {
  let dir: string;
  let truth: Truth;
  beforeAll(() => {
    dir = tempDir();
    simulateToDirectory(size, dir);
    truth = JSON.parse(readFileSync(join(dir, 'truth.json'), 'utf8')) as Truth;
  });
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('writes the same files for the same seed, and other files for another', () => {
    const again = tempDir();
    simulateToDirectory(size, again);
    const other = tempDir();
    simulateToDirectory({ ...size, seed: 12 }, other);
    const digest = (d: string, f: string) => createHash('sha256').update(readFileSync(join(d, f))).digest('hex');
    for (const f of SIMULATION_FILES) expect(digest(again, f), f).toBe(digest(dir, f));
    expect(digest(other, 'events.jsonl')).not.toBe(digest(dir, 'events.jsonl'));
  });

  it('writes records the interchange parsers accept', () => {
    const customers = lines(dir, 'customers.jsonl').map((l, i) => parseCustomer(JSON.parse(l), { file: 'customers.jsonl', line: i + 1 }));
    expect(customers).toHaveLength(size.customers);
    expect(customers.filter((c) => c.canary).length).toBeGreaterThanOrEqual(3);
    expect(customers.filter((c) => c.vip).length).toBeGreaterThanOrEqual(3);
    const employees = lines(dir, 'employees.jsonl').map((l, i) => parseEmployee(JSON.parse(l), { file: 'employees.jsonl', line: i + 1 }));
    expect(employees).toHaveLength(size.employees);
    expect(new Set(employees.map((e) => e.id.slice(0, 3)))).toEqual(new Set(['emp', 'inv', 'sup', 'dpo', 'adm', 'sec']));
    const cases = lines(dir, 'cases.jsonl').map((l, i) => parseCase(JSON.parse(l), { file: 'cases.jsonl', line: i + 1 }));
    expect(cases.find((c) => c.id === 'case-000001')).toMatchObject({ employee: 'emp-0001', customer: 'cus-000001' });
    expect(cases.find((c) => c.id === 'case-000001')!.closedAt).toBeUndefined();
    expect(cases.every((c) => typeof c.extra?.openedBy === 'string')).toBe(true);
  });

  it('writes events in time order, with unique ids, that parse as access events', () => {
    let last = '';
    const ids = new Set<string>();
    const outOfOrder: number[] = [];
    const outOfWindow: number[] = [];
    const all = lines(dir, 'events.jsonl');
    all.forEach((l, i) => {
      const e = checkEvent(l, { file: 'events.jsonl', line: i + 1 });
      if (e.time < last) outOfOrder.push(i + 1);
      if (e.time < truth.start || e.time >= truth.end) outOfWindow.push(i + 1);
      last = e.time;
      ids.add(e.id);
    });
    expect(all.length).toBeGreaterThan(10_000);
    expect(outOfOrder).toEqual([]);
    expect(outOfWindow).toEqual([]);
    expect(ids.size).toBe(all.length);
  });

  it('injects every kind of insider, and truth names their first malicious event', () => {
    expect(new Set(truth.insiders.map((i) => i.kind))).toEqual(new Set(INSIDER_KINDS));
    const byId = new Map(lines(dir, 'events.jsonl').map((l) => {
      const e = JSON.parse(l) as { id: string; time: string; actor: string; customers: string[] };
      return [e.id, e];
    }));
    const canaries = new Set(lines(dir, 'customers.jsonl').map((l) => JSON.parse(l) as { id: string; canary?: boolean }).filter((c) => c.canary).map((c) => c.id));
    // The canary target is "on that very event": a canary touch starts with the canary.
    for (const insider of truth.insiders.filter((i) => i.kind === 'canary_touch')) {
      expect(canaries.has(byId.get(insider.firstMaliciousEventId)!.customers[0]!)).toBe(true);
    }
    for (const insider of truth.insiders) {
      const first = byId.get(insider.firstMaliciousEventId)!;
      expect(first, insider.kind).toBeDefined();
      expect(first.actor).toBe(insider.employee);
      expect(first.time).toBe(insider.firstMaliciousAt);
      expect(insider.events).toBeGreaterThan(0);
      // After the warm-up (a week at this size).
      expect(Date.parse(insider.firstMaliciousAt) - Date.parse(truth.start)).toBeGreaterThanOrEqual(7 * 86_400_000 - 12 * 3_600_000);
    }
    expect(truth).toMatchObject({ seed: size.seed, employees: size.employees, customers: size.customers, days: size.days });
    expect(truth.employeeDays).toBeGreaterThan(0.9 * size.employees * size.days);
    expect(truth.employeeDays).toBeLessThanOrEqual(size.employees * size.days);
  });

  it('has the honest confounders that make detection hard', () => {
    const insiders = new Set(truth.insiders.map((i) => i.employee));
    const employees = new Map(lines(dir, 'employees.jsonl').map((l) => JSON.parse(l) as { id: string; team: string; role: string; hiredAt: string; leftAt?: string }).map((e) => [e.id, e]));
    const honest = lines(dir, 'events.jsonl').map((l) => JSON.parse(l) as AccessEvent).filter((e) => !insiders.has(e.actor));
    const teamOf = (e: AccessEvent) => employees.get(e.actor)!.team;
    const revealsWithoutPurpose = honest.filter((e) => e.action === 'reveal' && e.decision === 'allow' && !e.purpose);
    // Team leads' escalations, and the outage day of one support team.
    expect(new Set(revealsWithoutPurpose.map((e) => employees.get(e.actor)!.role))).toEqual(new Set(['supervisor', 'agent']));
    const outage = revealsWithoutPurpose.filter((e) => employees.get(e.actor)!.role === 'agent');
    expect(new Set(outage.map(teamOf)).size).toBe(1);
    // One local working day: at most two UTC dates.
    expect(new Set(outage.map((e) => e.time.slice(0, 10))).size).toBeLessThanOrEqual(2);
    // Investigators' exports of many customers, privacy officers' of one.
    expect(honest.some((e) => e.action === 'export' && e.customers.length >= 20 && employees.get(e.actor)!.role === 'investigator')).toBe(true);
    expect(honest.some((e) => e.action === 'export' && e.customers.length === 1 && employees.get(e.actor)!.role === 'privacy_officer')).toBe(true);
    // The night shift works at night; outreach reveals many customers under one campaign case.
    expect(honest.filter((e) => teamOf(e) === 'support-night' && Number(e.time.slice(11, 13)) < 5).length).toBeGreaterThan(100);
    const perCase = new Map<string, Set<string>>();
    for (const e of honest.filter((x) => x.action === 'reveal' && x.purpose && teamOf(x) === 'outreach')) {
      perCase.set(e.purpose!.ref, (perCase.get(e.purpose!.ref) ?? new Set()).add(e.customers[0]!));
    }
    expect(Math.max(...[...perCase.values()].map((c) => c.size))).toBeGreaterThanOrEqual(8);
    // Refusals, searches that find nobody, several networks and tools.
    expect(honest.filter((e) => e.decision === 'deny').length).toBeGreaterThan(10);
    expect(honest.some((e) => e.action === 'search' && e.search!.hits === 0)).toBe(true);
    expect(new Set(honest.map((e) => e.channel))).toEqual(new Set(['web', 'mobile', 'api']));
    // New hires and people leaving who are not insiders.
    const people = [...employees.values()].filter((e) => !insiders.has(e.id));
    expect(people.some((e) => e.hiredAt >= truth.start)).toBe(true);
    expect(people.some((e) => e.leftAt !== undefined)).toBe(true);
  });

  it('holds about a day and a half of events and a few cases per person, however long the run', () => {
    const lines = { customer: () => {}, employee: () => {}, caseLine: () => {}, eventLine: () => {} };
    const short = runSimulation({ ...size, employees: 60, customers: 1000, days: 12 }, lines);
    const long = runSimulation({ ...size, employees: 60, customers: 1000, days: 48 }, lines);
    expect(long.events).toBeGreaterThan(3 * short.events);
    expect(long.peaks.pendingEvents).toBeLessThan(1.5 * short.peaks.pendingEvents);
    // A Monday (the busiest day) and a half, at most: four average days.
    expect(long.peaks.pendingEvents).toBeLessThan((4 * long.events) / 48);
    expect(long.peaks.openCases).toBeLessThan(1.5 * short.peaks.openCases);
  });
});
