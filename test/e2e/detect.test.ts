import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aliasOf } from '../../src/detect/alias.ts';
import { custosCli } from '../support/cli.ts';
import { DAY, HOUR, START, TestOrg, writeOrgFiles } from '../support/detect-org.ts';

/** `more` adds events before the files are written. */
function filesWithAnInsider(more?: (org: TestOrg) => void): { files: ReturnType<typeof writeOrgFiles>; org: TestOrg } {
  const org = new TestOrg(400);
  const employees = ['emp-1', 'emp-2', 'emp-3'].map((id) => org.employee(id, 'support', 'agent'));
  for (const e of employees) for (const d of TestOrg.weekdays(0, 10)) org.agentDay(e, d, 6);
  org.event(START + 8 * DAY + 11 * HOUR, 'emp-1', 'reveal', [org.canary]);
  more?.(org);
  const files = writeOrgFiles(org, mkdtempSync(join(tmpdir(), 'custos-detect-cli-')), employees);
  return { files, org };
}

const args = (f: ReturnType<typeof writeOrgFiles>) => ['detect', '--customers', f.customers, '--employees', f.employees, '--cases', f.cases, '--events', f.events];

// Each test starts one CLI process; a loaded machine can take many seconds for each.
describe('custos detect', { timeout: 120_000 }, () => {
  it('prints the alerts as JSON, the same as the engine in memory', async () => {
    const { files, org } = filesWithAnInsider();
    const r = await custosCli([...args(files), '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { alerts: Array<Record<string, unknown>> };
    const expected = org.detect().alerts;
    expect(out.alerts.map((a) => a.id)).toEqual(expected.map((a) => a.id));
    expect(out.alerts[0]).toMatchObject({ employee: 'emp-1', severity: 'critical', detectedAt: new Date(START + 8 * DAY + 11 * HOUR).toISOString() });
    expect(Object.keys(out.alerts[0]!)).toEqual(['id', 'employee', 'score', 'severity', 'detectedAt', 'firstEventAt', 'detectors', 'explanation']);
    expect(out.alerts[0]!.explanation).toMatch(/^Analyst-facing alias '[a-z]+-[a-z]+-\d{4}-\d{4}'/);
    expect(out.alerts[0]!.explanation).toContain(`'${aliasOf('emp-1')}'`);
  });

  it('prints a table without --json', async () => {
    const { files } = filesWithAnInsider();
    const r = await custosCli(args(files));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^detected at\s+alias\s+employee\s+severity\s+score\s+detectors\n/);
    expect(r.stdout).toMatch(new RegExp(`${aliasOf('emp-1')}\\s+emp-1\\s+critical\\s+100\\s+canary\\(100\\)`));
  });

  it('names the file, line and field of a bad event line and exits with 2', async () => {
    const { files, org } = filesWithAnInsider();
    writeFileSync(files.events, `${JSON.stringify(org.events[0])}\n${JSON.stringify({ ...org.events[1], time: 'yesterday' })}\n`);
    const r = await custosCli(args(files));
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`custos: ${files.events}:2: field "time": must be an RFC 3339 date-time such as 2026-01-31T09:00:00Z\n`);
  });

  it('stops with one line and exit code 2 when detection needs more heap than --heap-limit gives it', async () => {
    const { files } = filesWithAnInsider();
    // Some 20 MiB of cases once parsed: more than a 16 MiB heap holds.
    const line = (i: number) => JSON.stringify({ id: `case-x${i}`, employee: 'emp-1', customer: 'cus-000001', openedAt: '2026-03-02T09:00:00Z', kind: 'complaint' });
    writeFileSync(files.cases, `${Array.from({ length: 100_000 }, (_, i) => line(i)).join('\n')}\n`);
    const r = await custosCli([...args(files), '--heap-limit', '16']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      "custos: detection ran out of memory: the directory and the detectors' state need more than the 16 MiB heap it was given; raise it with --heap-limit MiB\n",
    );
  });

  it('checks impossible travel between the networks of a --places file', async () => {
    const { files, org } = filesWithAnInsider((o) => {
      // emp-2's account, used in Milan and half an hour later in New York.
      o.event(START + 9 * DAY + 10 * HOUR, 'emp-2', 'view', [o.someCustomer()], { ip: '10.1.9.9' });
      o.event(START + 9 * DAY + 10.5 * HOUR, 'emp-2', 'view', [o.someCustomer()], { ip: '2001:db8:7::20' });
    });
    const places = [
      { cidr: '10.1.0.0/16', place: 'Milan office', lat: 45.46, lon: 9.19 },
      { cidr: '2001:db8:7::/48', place: 'New York office', lat: 40.71, lon: -74.01 },
    ];
    const placesFile = join(dirname(files.events), 'places.jsonl');
    writeFileSync(placesFile, places.map((p) => JSON.stringify(p)).join('\n'));
    // Three weeks of history are too short for the other signs of time and place: the trip alone (45) at a threshold of 40.
    const r = await custosCli([...args(files), '--places', placesFile, '--threshold', '40', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { alerts: Array<{ id: string; employee: string; detectors: Array<{ name: string; evidence: { summary: string } }> }> };
    expect(out.alerts.map((a) => a.id)).toEqual(org.detect({ places, threshold: 40 }).alerts.map((a) => a.id));
    const travel = out.alerts.find((a) => a.employee === 'emp-2')?.detectors.find((d) => d.name === 'time_place');
    expect(travel?.evidence.summary).toContain('impossible travel: data accessed from Milan office (10.1.0.0/16) at ');
    expect(travel?.evidence.summary).toContain(' and from New York office (2001:db8:7::/48) at ');
    // Without the file, travel is not checked and emp-2 raises nothing.
    expect(org.detect({ threshold: 40 }).alerts.filter((a) => a.employee === 'emp-2')).toEqual([]);
  });

  it('names the file, line and field of a bad places file and exits with 2', async () => {
    const { files } = filesWithAnInsider();
    const placesFile = join(dirname(files.events), 'places.jsonl');
    writeFileSync(placesFile, `{"cidr":"10.1.0.0/16","place":"Milan office","lat":45.46,"lon":9.19}\n{"cidr":"10.7.0.0/16","place":"New York office","lat":140.71,"lon":-74.01}\n`);
    const r = await custosCli([...args(files), '--places', placesFile]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`custos: ${placesFile}:2: field "lat": must be a latitude in degrees, from -90 to 90\n`);
  });

  it('refuses a threshold outside 0–100', async () => {
    const { files } = filesWithAnInsider();
    const r = await custosCli([...args(files), '--threshold', '150']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--threshold must be a number above 0 and at most 100/);
  });
});
