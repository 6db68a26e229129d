/** `custos simulate` and `custos eval` as a user runs them: files written, flags checked, a table or JSON. */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { custosCli } from '../support/cli.ts';

// A few CLI processes on a loaded machine: the deadline only bounds a hang.
describe('custos simulate and eval', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'custos-simulate-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const base = ['simulate', '--employees', '30', '--customers', '500', '--days', '10', '--seed', '5', '--out', join(dir, 'run')];

  it('names the flag that is wrong', async () => {
    for (const [flag, value] of [['--employees', '3'], ['--customers', 'many'], ['--days', '1.5'], ['--seed', '-1'], ['--start', '2026-02-30']] as const) {
      const args = [...base];
      const at = args.indexOf(flag);
      if (at >= 0) args[at + 1] = value;
      else args.push(flag, value);
      const r = await custosCli(args);
      expect(r.code, flag).toBe(2);
      expect(r.stderr).toContain(`${flag} must be`);
    }
    const missing = await custosCli(['simulate', '--employees', '30', '--customers', '500', '--out', join(dir, 'x')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--days');
    const noAlerts = await custosCli(['eval', '--truth', join(dir, 'none.json'), '--alerts', join(dir, 'none.json')]);
    expect(noAlerts).toMatchObject({ code: 2, stderr: expect.stringContaining('--truth') });
  });

  it('writes the five files, and eval scores alerts against truth.json', async () => {
    const r = await custosCli(base);
    expect(r.code, r.stderr).toBe(0);
    for (const f of ['customers.jsonl', 'employees.jsonl', 'cases.jsonl', 'events.jsonl', 'truth.json']) expect(existsSync(join(dir, 'run', f)), f).toBe(true);
    const truth = JSON.parse(readFileSync(join(dir, 'run', 'truth.json'), 'utf8')) as { insiders: Array<{ employee: string; firstMaliciousAt: string }> };
    const first = truth.insiders[0]!;
    writeFileSync(join(dir, 'alerts.json'), JSON.stringify({ alerts: [{ id: 'a1', employee: first.employee, score: 90, severity: 'high', detectedAt: first.firstMaliciousAt, firstEventAt: first.firstMaliciousAt, detectors: [{ name: 'volume', score: 90, evidence: {} }], explanation: 'x' }] }));
    const table = await custosCli(['eval', '--truth', join(dir, 'run', 'truth.json'), '--alerts', join(dir, 'alerts.json')]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^kind\s+insiders\s+detected\s+median TTD/);
    expect(table.stdout).toContain('0 honest employee(s) flagged');
    const json = await custosCli(['eval', '--truth', join(dir, 'run', 'truth.json'), '--alerts', join(dir, 'alerts.json'), '--json']);
    const parsed = JSON.parse(json.stdout) as { overall: { insiders: number; detected: number } };
    expect(parsed.overall).toMatchObject({ insiders: truth.insiders.length, detected: 1 });
  });
});
