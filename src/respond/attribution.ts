/**
 * Attribution of a leaked list: e-mail addresses and phone numbers found in the wild are matched
 * to customers by blind index (keyed hashes of the normalized values; nothing is decrypted), and
 * the employees whose reveals and exports could explain the list are ranked: how much of it they
 * saw (coverage), how much of that without a valid purpose, how much no one else saw, and
 * whether they saw it before the leak. A canary in the list pins the source down: no legitimate
 * purpose ever links to one, so whoever exposed it is the source.
 *
 * State is bounded by the list, the matched customers and the employees, never by the events.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { checkReadable } from '../importer/read-records.ts';
import { isEmailAddress, normalizePhone } from '../model.ts';
import type { ExposurePage } from '../store/exposures.ts';
import type { BlindIndexer } from '../vault/index.ts';
import { PurposeJudge, type CaseSource } from './case-history.ts';

export type LeakedKind = 'email' | 'phone';

/** One usable line of the list: its kind and blind index (the clear value is not kept). */
export interface LeakedEntry {
  line: number;
  kind: LeakedKind;
  index: string;
}

export interface BadLine {
  line: number;
  reason: string;
}

export interface LeakedList {
  entries: LeakedEntry[];
  bad: BadLine[];
}

/** A customer whose blind index of `kind` equals one in the list. */
export interface IndexMatch {
  kind: LeakedKind;
  index: string;
  customer: string;
  canary: boolean;
}

/** Finds customers by blind index: the store's columns, or a customers file hashed the same way. */
export interface CustomerMatcher {
  match(indexes: Record<LeakedKind, readonly string[]>): Promise<IndexMatch[]>;
}

export interface Candidate {
  employee: string;
  /** Matched lines whose value (that customer's e-mail or phone) the employee revealed or exported. */
  covered: number;
  /** covered / matched. */
  coverage: number;
  /** Of the covered lines, those the employee saw only through accesses without a valid purpose. */
  unjustified: number;
  /** Of the covered lines, those no other employee saw. */
  exclusive: number;
  /** Other employees who saw at least one of the same customers' leaked values. */
  sharedWith: number;
  /** Canary customers in the list whose leaked value this employee saw. */
  canaries: string[];
  /** Accesses after the leak date (cannot explain it; not counted above). */
  after: number;
  first: string;
  last: string;
  /** 0–100: 100 when a canary pins the source; otherwise coverage weighted with unjustified and exclusive shares. */
  score: number;
  explanation: string;
}

export interface Attribution {
  /** Lines matched to at least one customer. */
  matched: number;
  /** Usable lines matched to no customer. */
  unmatched: number;
  /** Customers matched. */
  customers: number;
  /** Canary customers among them. */
  canaries: string[];
  leakedAt?: string;
  bad: BadLine[];
  candidates: Candidate[];
  notes?: string[];
}

const KIND_BIT: Record<LeakedKind, number> = { email: 1, phone: 2 };

/**
 * Read a leaked list: one e-mail address or phone number per line (blank lines skipped). Phone
 * numbers are read in international form, or as national numbers of `country`. A line that is
 * neither is reported with its number, never its text (it may be anyone's data).
 */
export async function readLeakedList(file: string, indexer: BlindIndexer, opts: { country?: string } = {}): Promise<LeakedList> {
  await checkReadable(file);
  const entries: LeakedEntry[] = [];
  const bad: BadLine[] = [];
  let line = 0;
  for await (const raw of createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity })) {
    line++;
    const value = raw.trim();
    if (value === '') continue;
    if (value.includes('@')) {
      if (isEmailAddress(value)) entries.push({ line, kind: 'email', index: indexer.email(value) });
      else bad.push({ line, reason: 'not an e-mail address' });
    } else if (normalizePhone(value, opts.country) !== undefined) {
      entries.push({ line, kind: 'phone', index: indexer.phone(value, opts.country) });
    } else {
      bad.push({ line, reason: `neither an e-mail address nor a phone number${opts.country ? ` (national numbers read in ${opts.country})` : ' in international form (+<country code>…; --country reads national numbers)'}` });
    }
  }
  return { entries, bad };
}

/** Per matched customer: the employees who saw its leaked kinds before the leak, which kinds (bits), and which through a valid purpose. */
interface CustomerSights {
  actors: string[];
  seen: number[];
  justified: number[];
}

interface EmployeeSights {
  firstMs: number;
  lastMs: number;
  after: number;
}

export interface AttributionOptions {
  /** When the list surfaced: only accesses before it can explain it. */
  leakedAt?: string;
  /** Candidates to return, best first (default 50). */
  top?: number;
}

/**
 * Rank the employees who could explain `list`. `exposures(ids)` gives every exposure of those
 * customers (it may give others: they are skipped), a page at a time.
 */
export async function attribute(
  list: LeakedList,
  matcher: CustomerMatcher,
  exposures: (customers: readonly string[]) => AsyncIterable<ExposurePage>,
  cases: CaseSource,
  opts: AttributionOptions = {},
): Promise<Attribution> {
  // Matched customers: which lines, of which kind, each explains.
  const linesOf = new Map<string, Array<{ line: number; kind: LeakedKind }>>();
  const canaries = new Set<string>();
  const matchedLines = new Set<number>();
  const byIndex: Record<LeakedKind, Map<string, number[]>> = { email: new Map(), phone: new Map() };
  for (const e of list.entries) {
    const lines = byIndex[e.kind].get(e.index);
    if (lines) lines.push(e.line);
    else byIndex[e.kind].set(e.index, [e.line]);
  }
  for (const m of await matcher.match({ email: [...byIndex.email.keys()], phone: [...byIndex.phone.keys()] })) {
    for (const line of byIndex[m.kind].get(m.index) ?? []) {
      matchedLines.add(line);
      let lines = linesOf.get(m.customer);
      if (!lines) linesOf.set(m.customer, (lines = []));
      lines.push({ line, kind: m.kind });
    }
    if (m.canary) canaries.add(m.customer);
  }
  const leakedKinds = new Map<string, number>();
  for (const [customer, lines] of linesOf) leakedKinds.set(customer, lines.reduce((bits, l) => bits | KIND_BIT[l.kind], 0));

  const leakedMs = opts.leakedAt !== undefined ? Date.parse(opts.leakedAt) : Infinity;
  const sights = new Map<string, EmployeeSights>();
  const byCustomer = new Map<string, CustomerSights>();
  const judge = new PurposeJudge(cases);
  for await (const page of exposures([...linesOf.keys()].sort())) {
    await judge.prefetch(page.purposes);
    // Per page: each customer's leaked kinds, each field set's kinds; states looked up once per dictionary entry.
    const leakedOf = page.customers.map((c) => leakedKinds.get(c) ?? 0);
    const kindsOf = page.fieldSets.map((fields) => (fields.includes('email') ? 1 : 0) | (fields.includes('phone') ? 2 : 0));
    const actorState: Array<EmployeeSights | undefined> = [];
    const customerState: Array<CustomerSights | undefined> = [];
    for (let i = 0; i < page.length; i++) {
      const c = page.customer[i]!;
      const bits = kindsOf[page.fieldSet[i]!]! & leakedOf[c]!;
      if (bits === 0) continue;
      const a = page.actor[i]!;
      const actor = page.actors[a]!;
      let s = actorState[a];
      if (!s) {
        s = sights.get(actor);
        if (!s) sights.set(actor, (s = { firstMs: Infinity, lastMs: -Infinity, after: 0 }));
        actorState[a] = s;
      }
      const t = page.timeMs[i]!;
      if (t >= leakedMs) {
        s.after++;
        continue;
      }
      if (t < s.firstMs) s.firstMs = t;
      if (t > s.lastMs) s.lastMs = t;
      const customer = page.customers[c]!;
      let cs = customerState[c];
      if (!cs) {
        cs = byCustomer.get(customer);
        if (!cs) byCustomer.set(customer, (cs = { actors: [], seen: [], justified: [] }));
        customerState[c] = cs;
      }
      // A customer is seen by a handful of employees: a short list beats a map.
      let k = cs.actors.indexOf(actor);
      if (k < 0) {
        k = cs.actors.push(actor) - 1;
        cs.seen.push(0);
        cs.justified.push(0);
      }
      cs.seen[k]! |= bits;
      const p = page.purpose[i]!;
      if (!judge.unjustified(p < 0 ? undefined : page.purposes[p], actor, t, customer)) cs.justified[k]! |= bits;
    }
  }

  const matched = matchedLines.size;
  // Per employee: the lines covered, those only without a valid purpose, those no one else saw, who else saw them.
  // Employees by number, so a tally's set of others holds small integers, not strings.
  const numbers = new Map<string, number>();
  const tallies = new Map<string, { covered: Set<number>; unjustified: Set<number>; exclusive: Set<number>; others: Set<number>; pinned: string[] }>();
  for (const [customer, cs] of byCustomer) {
    const lines = linesOf.get(customer) ?? [];
    const who = cs.actors.map((a) => {
      let n = numbers.get(a);
      if (n === undefined) numbers.set(a, (n = numbers.size));
      return n;
    });
    for (let k = 0; k < cs.actors.length; k++) {
      const employee = cs.actors[k]!;
      let tally = tallies.get(employee);
      if (!tally) tallies.set(employee, (tally = { covered: new Set(), unjustified: new Set(), exclusive: new Set(), others: new Set(), pinned: [] }));
      for (const { line, kind } of lines) {
        const bit = KIND_BIT[kind];
        if ((cs.seen[k]! & bit) === 0) continue;
        tally.covered.add(line);
        if ((cs.justified[k]! & bit) === 0) tally.unjustified.add(line);
        let saw = 0;
        for (let j = 0; j < cs.actors.length; j++) {
          if ((cs.seen[j]! & bit) === 0) continue;
          saw++;
          if (j !== k) tally.others.add(who[j]!);
        }
        if (saw === 1) tally.exclusive.add(line);
      }
      if (canaries.has(customer)) tally.pinned.push(customer);
    }
  }
  const candidates: Candidate[] = [];
  for (const [employee, tally] of tallies) {
    const { covered, unjustified, exclusive, others, pinned } = tally;
    const s = sights.get(employee)!;
    if (covered.size === 0) continue;
    const coverage = matched > 0 ? covered.size / matched : 0;
    const score = pinned.length > 0 ? 100 : Math.round(100 * (0.6 * coverage + 0.2 * (unjustified.size / covered.size) + 0.2 * (exclusive.size / covered.size)) * 10) / 10;
    const candidate: Candidate = {
      employee,
      covered: covered.size,
      coverage: Math.round(coverage * 10_000) / 10_000,
      unjustified: unjustified.size,
      exclusive: exclusive.size,
      sharedWith: others.size,
      canaries: pinned.sort(),
      after: s.after,
      first: new Date(s.firstMs).toISOString(),
      last: new Date(s.lastMs).toISOString(),
      score,
      explanation: '',
    };
    candidate.explanation = explain(candidate, matched, opts.leakedAt);
    candidates.push(candidate);
  }
  candidates.sort((a, b) => b.score - a.score || b.covered - a.covered || (a.employee < b.employee ? -1 : 1));
  const notes: string[] = [];
  if (!cases.knowsCases) notes.push('no cases were given: only accesses without any purpose are counted as unjustified');
  return {
    matched,
    unmatched: list.entries.filter((e) => !matchedLines.has(e.line)).length,
    customers: linesOf.size,
    canaries: [...canaries].sort(),
    ...(opts.leakedAt !== undefined ? { leakedAt: opts.leakedAt } : {}),
    bad: list.bad,
    candidates: candidates.slice(0, opts.top ?? 50),
    ...(notes.length > 0 ? { notes } : {}),
  };
}

function explain(c: Candidate, matched: number, leakedAt: string | undefined): string {
  const pct = (n: number, of: number) => `${of > 0 ? Math.round((100 * n) / of) : 0}%`;
  const parts = [
    `${c.employee} revealed or exported ${c.covered} of the ${matched} matched values (${pct(c.covered, matched)})${leakedAt ? ` before the leak (${leakedAt})` : ''}, between ${c.first} and ${c.last}`,
    `${c.unjustified} of them without a valid purpose`,
    c.exclusive > 0 ? `${c.exclusive} seen by no other employee` : 'every one also seen by another employee',
    `${c.sharedWith} other employee(s) saw some of the same customers`,
  ];
  if (c.after > 0) parts.push(`${c.after} further access(es) came after the leak and cannot explain it`);
  let text = `${parts.join('; ')}.`;
  if (c.canaries.length > 0) {
    text = `The list holds canary customer(s) ${c.canaries.join(', ')}, whose value ${c.employee} saw; no legitimate purpose links to a canary, so this pins the source down. ${text}`;
  }
  return text;
}
