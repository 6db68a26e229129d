/** `custos obligations` as a user runs it: JSON and table output, report drafts, and bad files refused with file:line and field. */
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { custosCli } from '../support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'custos-obligations-'));

function incidentFile(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

const incident = {
  id: 'inc-2018-10',
  kind: 'insider',
  awareAt: '2026-11-18T14:00:00Z',
  recipient: 'third-party',
  controller: { name: 'Example Marketplace Europe Ltd', country: 'IE' },
  encrypted: false,
  affected: [
    { customer: 'cus-1', country: 'GB', fields: ['email'] },
    { customer: 'cus-2', country: 'IT', fields: ['email', 'phone'] },
    { customer: 'cus-3', country: 'BR', fields: ['email'] },
    { customer: 'cus-4', country: 'US', region: 'US-TX', fields: ['email'] },
    { customer: 'cus-5', country: 'ID', fields: ['email'] },
  ],
};

// Each test starts a few CLI processes: on a loaded machine that can take a while.
const PROCESSES = { timeout: 120_000 };

describe('custos obligations', PROCESSES, () => {
  it('--json prints {authorities, individuals} with a cited basis on every line', async () => {
    const r = await custosCli(['obligations', '--incident', incidentFile('good.json', JSON.stringify(incident, null, 2)), '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { authorities: Array<Record<string, unknown>>; individuals: Array<Record<string, unknown>> };
    const summary = out.authorities.map((l) => [l.jurisdiction, l.required, l.deadline]);
    expect(summary).toEqual([
      ['BR', 'assess', '2026-11-24T23:59:59-03:00'],
      ['GB', 'assess', '2026-11-21T14:00:00Z'],
      ['ID', 'yes', '2026-11-21T14:00:00Z'],
      ['IE', 'assess', '2026-11-21T14:00:00Z'],
      ['IT', 'no', null],
      ['US-TX', 'no', null],
      ['US-TX', 'no', null],
    ]);
    const tx = out.individuals.find((l) => l.jurisdiction === 'US-TX')!;
    expect(tx).toMatchObject({ required: 'no', deadline: null, affected: 1 });
    expect(tx.basis).toContain('§ 521.053(b)');
    for (const line of [...out.authorities, ...out.individuals]) expect(String(line.basis)).not.toBe('');
  });

  it('prints a readable table, and writes report drafts with --reports', async () => {
    const reports = join(dir, 'reports');
    const r = await custosCli(['obligations', '--incident', join(dir, 'good.json'), '--reports', reports]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^AUTHORITIES$/m);
    expect(r.stdout).toMatch(/^ID\s+yes\s+2026-11-21T14:00:00Z\s+1\s+Lembaga/m);
    expect(r.stdout).toContain('ASSESS: Can you show that the breach is unlikely to result in a risk');
    expect(readdirSync(reports).filter((f) => f.endsWith('.md')).sort()).toEqual(['BR-anpd.md', 'GB-ico.md', 'ID-lembaga.md', 'IE-sa.md']);
  });

  it('a bad incident file exits 2 naming the file, line and field', async () => {
    const bad = JSON.stringify({ ...incident, affected: [incident.affected[0], { ...incident.affected[1], country: 'Italy' }] }, null, 2);
    const path = incidentFile('bad.json', bad);
    const line = bad.split('\n').findIndex((l) => l.includes('"Italy"')) + 1;
    const r = await custosCli(['obligations', '--incident', path, '--json']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`custos: ${path}:${line}: field "affected[1].country": must be an ISO 3166-1 alpha-2 code such as "IT"\n`);
    const missing = await custosCli(['obligations', '--incident', join(dir, 'absent.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read it (ENOENT)');
  });
});
