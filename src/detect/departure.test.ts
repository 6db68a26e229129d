import { describe, expect, it } from 'vitest';
import { DAY, HOUR, START, TestOrg } from '../../test/support/detect-org.ts';
import type { Finding } from './alert.ts';

describe('departure', () => {
  it('raises risk for activity above the usual in the weeks before a known leaving date, and for any access after it', () => {
    const org = new TestOrg();
    const ids = org.team('emp', 5, 'support', 'agent');
    const leaver = org.employee('emp-leaving', 'support', 'agent', START - 400 * DAY, START + 30 * DAY);
    for (const id of [...ids, leaver]) for (const d of TestOrg.weekdays(0, 21)) org.agentDay(id, d, 8);
    org.agentDay(leaver, 21, 30);
    org.event(START + 32 * DAY + 10 * HOUR, leaver, 'reveal', [org.someCustomer()]);
    const findings: Finding[] = [];
    org.detect({ onFinding: (f) => f.detector === 'departure' && findings.push(f) });
    expect(findings[0]!.at.slice(0, 10)).toBe('2026-03-23');
    expect(findings[0]!.score).toBeLessThan(50);
    expect(findings.at(-1)!.at.slice(0, 10)).toBe('2026-04-03');
    expect(findings.at(-1)!.score).toBe(80);
  });

  it("counts and samples only what was touched after leaving, not the rest of the leaving day", () => {
    const org = new TestOrg();
    const leftAt = START + 10 * DAY + 17 * HOUR;
    const leaver = org.employee('emp-leaving', 'support', 'agent', START - 400 * DAY, leftAt);
    for (const d of TestOrg.weekdays(0, 10)) org.agentDay(leaver, d, 8);
    const before = org.event(leftAt - 8 * HOUR, leaver, 'reveal', [org.someCustomer()]);
    const after = org.event(leftAt + 90_000, leaver, 'reveal', [org.someCustomer()]);
    const findings: Finding[] = [];
    org.detect({ onFinding: (f) => f.detector === 'departure' && findings.push(f) });
    const last = findings.at(-1)!;
    expect(last.score).toBe(80);
    expect(last.evidence.counts.customersAfterLeaving).toBe(1);
    expect(last.evidence.summary).toMatch(/^touched 1 customer record after leaving at /);
    expect(last.evidence.samples.map((s) => s.id)).toEqual([after.id]);
    expect(last.evidence.samples.map((s) => s.id)).not.toContain(before.id);
  });

  it('says nothing of an honest leaver working as usual', () => {
    const org = new TestOrg();
    const leaver = org.employee('emp-leaving', 'support', 'agent', START - 400 * DAY, START + 25 * DAY);
    for (const d of TestOrg.weekdays(0, 25)) org.agentDay(leaver, d, 8);
    const findings: Finding[] = [];
    org.detect({ onFinding: (f) => findings.push(f) });
    expect(findings).toEqual([]);
  });
});
