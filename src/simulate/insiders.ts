/**
 * Insiders: employees who, from a day after the warm-up, add malicious acts to their ordinary
 * work (which goes on as before). Each kind is one pattern from the incidents Custos is for;
 * each malicious event is tagged, so truth.json knows the first one and how many there were.
 */
import { eventBody, type PendingEvent } from './write.ts';
import { probeHash, type CaseBook, type WorkDay } from './behaviour.ts';
import { CUSTOMER_COUNTRIES } from './demo-org.ts';
import { DAY_MS, HOUR_MS, pad, pickWeekday, RESERVED_PER_ROLE, type Organisation, type SimEmployee } from './organisation.ts';
import { Rng } from './random.ts';

export const INSIDER_KINDS = [
  'seller_leak', 'slow_seller_leak', 'bulk_export_before_leaving', 'bogus_cases',
  'vip_curiosity', 'enumeration', 'compromised_account', 'canary_touch',
] as const;
export type InsiderKind = (typeof INSIDER_KINDS)[number];

export interface Insider {
  /** Position in truth.json's list. */
  index: number;
  kind: InsiderKind;
  employee: SimEmployee;
  /** The first day (window index) of malicious acts; the insider works that day whatever their rota. */
  startDay: number;
  /** Enumeration: the customers in the order swept, and how far the sweep got. */
  sweep?: { order: (k: number) => number; length: number; next: number };
  /** Compromised account: where the intruder connects from, and on which days. */
  intruder?: { ip: string; days: Set<number> };
}

/** Insiders of each kind for an organisation of `employees`: one each at 100, three each at 2,000. */
export function insidersPerKind(employees: number): number {
  return Math.max(1, Math.round(employees / 700));
}

/** The first day insiders may start: after a warm-up of a week or a quarter of the window. */
export function warmUpDays(days: number): number {
  return Math.max(0, Math.min(days - 2, Math.max(7, Math.ceil(days / 4))));
}

export function chooseInsiders(org: Organisation): Insider[] {
  const rng = Rng.derive(org.size.seed, 4);
  const { days } = org.size;
  const eligible = org.employees.filter((e) =>
    (e.role === 'agent' || e.role === 'investigator') &&
    Number(e.id.slice(4)) > RESERVED_PER_ROLE &&
    e.hiredAt < org.startMs && e.leftAt === undefined);
  const used = new Set<number>();
  const insiders: Insider[] = [];
  const warmUp = warmUpDays(days);
  for (let round = 0; round < insidersPerKind(org.size.employees); round++) {
    for (const kind of INSIDER_KINDS) {
      const pool = eligible.filter((e) => !used.has(e.index) && fits(kind, e, rng, org));
      if (pool.length === 0) continue;
      const employee = rng.pick(pool);
      used.add(employee.index);
      const startDay = pickWeekday(rng, org.size, warmUp, Math.max(warmUp, days - 2));
      // Nobody plans a leak around their holiday: a vacation overlapping the start is dropped.
      if (employee.vacation && employee.vacation[1] >= startDay - 1 && employee.vacation[0] <= startDay + 5) delete employee.vacation;
      const insider: Insider = { index: insiders.length, kind, employee, startDay };
      if (kind === 'bulk_export_before_leaving') {
        employee.leftAt = org.startMs + (startDay + rng.between(8, 16)) * DAY_MS + (17 - employee.team.utcOffset) * HOUR_MS;
      } else if (kind === 'enumeration') {
        insider.sweep = sweepOrder(org, rng);
      } else if (kind === 'compromised_account') {
        const attackDays = new Set([startDay]);
        for (let d = startDay + 1; d < Math.min(days, startDay + 4); d++) if (rng.chance(0.4)) attackDays.add(d);
        insider.intruder = { ip: `185.${rng.between(100, 250)}.${rng.int(256)}.${rng.between(1, 254)}`, days: attackDays };
      }
      insiders.push(insider);
    }
  }
  return insiders;
}

function fits(kind: InsiderKind, e: SimEmployee, rng: Rng, org: Organisation): boolean {
  if (kind === 'canary_touch' && org.customers.canaries.length === 0) return false;
  if (kind === 'bulk_export_before_leaving') return e.role === 'investigator' || rng.chance(0.5);
  if (kind === 'compromised_account') return true;
  return e.role === 'agent';
}

/** Sequential ids from a random point, or one country's customers in id order. */
function sweepOrder(org: Organisation, rng: Rng): NonNullable<Insider['sweep']> {
  const count = org.customers.count;
  if (rng.chance(0.5)) {
    const from = rng.between(1, count);
    return { order: (k) => ((from - 1 + k) % count) + 1, length: count, next: 0 };
  }
  const country = rng.pick(CUSTOMER_COUNTRIES);
  const ofCountry: number[] = [];
  for (let i = 1; i <= count; i++) if (org.customers.country[i] === country) ofCountry.push(i);
  const from = rng.int(ofCountry.length);
  return { order: (k) => ofCountry[(from + k) % ofCountry.length]!, length: ofCountry.length, next: 0 };
}

/** Whether the insider works on day `d` whatever their rota (their first day, an intrusion's days). */
export function forcesWork(insider: Insider, d: number): boolean {
  return d === insider.startDay || (insider.intruder?.days.has(d) ?? false);
}

export interface InsiderContext {
  org: Organisation;
  cases: CaseBook;
  emit(time: number, event: PendingEvent, insider: number): void;
}

const LEAK_FIELDS: ReadonlyArray<readonly string[]> = [['email', 'phone'], ['email', 'phone'], ['email'], ['phone']];

/** The insider's malicious acts on `day`, beside their ordinary work. */
export function actMaliciously(insider: Insider, day: WorkDay, ctx: InsiderContext): void {
  if (day.day < insider.startDay) return;
  const rng = Rng.derive(ctx.org.size.seed, 5, insider.index, day.day);
  const e = insider.employee;
  const emit = (t: number, event: PendingEvent) => ctx.emit(t, event, insider.index);
  const ids = ctx.org.customers.ids;
  const anyCustomer = () => 1 + rng.int(ctx.org.customers.count);
  const inShift = () => rng.uniform(day.start, day.end);
  const bogusRef = () => {
    const open = ctx.cases.openOf(e);
    return open.length && rng.chance(0.6) ? rng.pick(open).id : `case-${pad(rng.between(1, 999_999), 6)}`;
  };
  const leak = (n: number) => {
    for (let k = 0; k < n; k++) {
      const t = inShift();
      const customer = ids[anyCustomer()]!;
      if (rng.chance(0.3)) emit(t - rng.uniform(15, 90) * 1000, eventBody.view(day.via, customer));
      emit(t, eventBody.reveal(day.via, customer, rng.pick(LEAK_FIELDS), rng.chance(0.45) ? bogusRef() : undefined));
    }
  };

  switch (insider.kind) {
    case 'seller_leak':
      if (day.working) leak(rng.between(20, 60));
      break;
    case 'slow_seller_leak':
      if (day.working) leak(rng.between(2, 5));
      break;
    case 'bulk_export_before_leaving': {
      if (!day.working) break;
      for (let k = rng.between(1, 3); k > 0; k--) {
        const size = rng.between(150, 1500);
        const chosen = new Set<number>();
        while (chosen.size < Math.min(size, ctx.org.customers.count)) chosen.add(anyCustomer());
        const customers = [...chosen].map((i) => ids[i]!);
        const fields = e.role === 'investigator' ? ['email', 'phone', 'name'] : ['email', 'phone'];
        const ref = e.role === 'investigator' && ctx.cases.openOf(e).length ? rng.pick(ctx.cases.openOf(e)).id : undefined;
        emit(inShift(), eventBody.export(rng.chance(0.5) ? { ...day.via, channel: 'api' } : day.via, customers, fields, ref));
      }
      break;
    }
    case 'bogus_cases': {
      if (!day.working) break;
      for (let k = rng.between(4, 12); k > 0; k--) {
        const t = inShift();
        const customer = anyCustomer();
        // Opened for the reveal alone, moments before it, and closed right after.
        const c = ctx.cases.open(e, customer, t - rng.uniform(20, 180) * 1000, e.id, rng.pick(['account', 'refund', 'delivery']), 1, 5);
        emit(t, eventBody.reveal(day.via, ids[customer]!, rng.pick(LEAK_FIELDS), c.id));
        ctx.cases.close(c, t + rng.uniform(30, 240) * 1000);
      }
      break;
    }
    case 'vip_curiosity': {
      if (!day.working || (day.day !== insider.startDay && !rng.chance(0.6))) break;
      for (let k = rng.between(1, 4); k > 0; k--) {
        const t = inShift();
        const customer = ids[rng.pick(ctx.org.customers.vips)]!;
        if (rng.chance(0.5)) emit(t - rng.uniform(15, 120) * 1000, eventBody.view(day.via, customer));
        emit(t, eventBody.reveal(day.via, customer, rng.pick(LEAK_FIELDS), rng.chance(0.3) ? bogusRef() : undefined));
      }
      break;
    }
    case 'enumeration': {
      const sweep = insider.sweep!;
      if (!day.working || sweep.next >= sweep.length) break;
      let t = inShift();
      for (let k = rng.between(80, 250); k > 0 && sweep.next < sweep.length; k--) {
        const customer = ids[sweep.order(sweep.next++)]!;
        emit(t, eventBody.view(day.via, customer));
        if (rng.chance(0.03)) emit(t + rng.uniform(5, 30) * 1000, eventBody.reveal(day.via, customer, ['email']));
        t += rng.uniform(8, 40) * 1000;
      }
      break;
    }
    case 'compromised_account': {
      const intruder = insider.intruder!;
      if (!intruder.days.has(day.day)) break;
      // Hours the owner never works: small hours, or mid-afternoon for the night shift.
      const localHour = e.team.shiftStart >= 20 ? rng.uniform(13, 16) : rng.uniform(1, 4);
      let t = day.midnight + localHour * HOUR_MS;
      const via = { actor: e.id, channel: 'api', ip: intruder.ip };
      for (let k = rng.between(40, 150); k > 0; k--) {
        const i = anyCustomer();
        const customer = ids[i]!;
        const u = rng.next();
        if (u < 0.2) {
          const kind = rng.chance(0.5) ? 'email' : 'phone';
          emit(t, eventBody.search(via, kind, probeHash(ctx.org.size.seed, kind, i), [customer]));
        }
        else if (u < 0.6) emit(t, eventBody.view(via, customer));
        else emit(t, eventBody.reveal(via, customer, rng.pick(LEAK_FIELDS)));
        t += rng.uniform(3, 40) * 1000;
      }
      break;
    }
    case 'canary_touch': {
      if (day.day !== insider.startDay || !day.working) break;
      // A canary looked at and revealed, then a little more browsing without a purpose.
      let t = inShift();
      const canary = ids[rng.pick(ctx.org.customers.canaries)]!;
      emit(t, eventBody.view(day.via, canary));
      emit(t + rng.uniform(10, 90) * 1000, eventBody.reveal(day.via, canary, rng.pick(LEAK_FIELDS)));
      for (let k = rng.between(0, 3); k > 0; k--) {
        t += rng.uniform(120, 600) * 1000;
        emit(t, eventBody.view(day.via, ids[anyCustomer()]!));
      }
      break;
    }
  }
}
