import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../errors.ts';
import { loadEntities } from './entities.ts';
import type { ObligationsIncident } from './incident-input.ts';
import { obligationsFor } from './obligations.ts';
import { authorityReports, reportMarkdown, TO_COMPLETE, writeAuthorityReports } from './reports.ts';
import { loadRules } from './rules.ts';

const rules = loadRules(fileURLToPath(new URL('../../rules', import.meta.url)));
const entities = loadEntities(fileURLToPath(new URL('../../config/entities.json', import.meta.url)));

const incident: ObligationsIncident = {
  id: 'inc-42',
  kind: 'insider',
  awareAt: '2026-11-18T14:00:00.000Z',
  recipient: 'third-party',
  controller: { name: 'Example Marketplace Europe Ltd', country: 'IE' },
  encrypted: false,
  window: { from: '2026-10-01T00:00:00.000Z', to: '2026-11-17T00:00:00.000Z' },
  affected: [
    { customer: 'c1', country: 'FR', fields: ['email', 'phone'] },
    { customer: 'c2', country: 'FR', fields: ['email'] },
    { customer: 'c3', country: 'IT', fields: ['email'] },
    { customer: 'c4', country: 'CA', region: 'CA-ON', fields: ['email'] },
    { customer: 'c5', country: 'CA', region: 'CA-QC', fields: ['email', 'phone'] },
    { customer: 'c6', country: 'US', region: 'US-TX', fields: ['email'] },
  ],
};

describe('authority report drafts', () => {
  const obligations = obligationsFor(incident, { rules });
  const drafts = authorityReports(incident, obligations, { rules, entities });

  it('one draft per authority with a duty or a judgement to make; none where the answer is no', () => {
    expect(drafts.map((d) => `${d.jurisdiction}/${d.authorityId}`)).toEqual(['CA/opc', 'CA-QC/cai', 'IE/sa']);
  });

  it('GDPR: the Art. 33(3)(a)–(d) contents, filled with the counts, the fields and the lead entity\'s DPO', () => {
    const ie = drafts.find((d) => d.jurisdiction === 'IE')!;
    expect(ie.fields.slice(0, 4).map((f) => f.cite)).toEqual(['Art. 33(3)(a)', 'Art. 33(3)(b)', 'Art. 33(3)(c)', 'Art. 33(3)(d)']);
    expect(ie.counts).toEqual({ total: 3, byCountry: { FR: 2, IT: 1 }, byRegion: { FR: 2, IT: 1 }, byField: { email: 3, phone: 1 } });
    expect(ie.fields[0]!.value).toContain('Data subjects concerned: 3');
    expect(ie.fields[0]!.value).toContain('email (3), phone (1)');
    expect(ie.fields[1]!.value).toContain('dpo-eu@marketplace.example');
    expect(ie.fields[1]!.complete).toBe(true);
    expect(ie.fields[3]!.value).toContain(TO_COMPLETE);
    expect(ie.controller.name).toBe('Example Marketplace Europe Ltd');
    expect(ie.deadline).toBe('2026-11-21T14:00:00Z');
  });

  it('PIPEDA: the seven items of the Breach of Security Safeguards Regulations s. 2(1), with counts by region', () => {
    const ca = drafts.find((d) => d.jurisdiction === 'CA')!;
    expect(ca.fields.map((f) => f.cite)).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((x) => `Regs s. 2(1)(${x})`));
    expect(ca.fields[1]!.value).toContain('From 2026-10-01T00:00:00.000Z to 2026-11-17T00:00:00.000Z');
    expect(ca.fields[3]!.value).toBe('2 (by country: CA (2); by region: CA-ON (1), CA-QC (1)).');
    expect(ca.fields[6]!.value).toContain('Example Marketplace Canada Inc.');
    const md = reportMarkdown(ca);
    expect(md).toContain('| CA | CA-QC | 1 |');
    expect(md).toContain('**DRAFT for review**');
  });

  it('writes Markdown and JSON per authority', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'custos-reports-'));
    const written = await writeAuthorityReports(dir, incident, obligations, { rules, entities });
    expect(readdirSync(dir).sort()).toEqual(['CA-QC-cai.json', 'CA-QC-cai.md', 'CA-opc.json', 'CA-opc.md', 'IE-sa.json', 'IE-sa.md']);
    expect(written).toHaveLength(6);
    expect(JSON.parse(readFileSync(join(dir, 'IE-sa.json'), 'utf8')).fields[0].id).toBe('nature');
  });

  it('refuses a reports path that is a file as bad input, naming it', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'custos-reports-')), 'taken');
    writeFileSync(file, '');
    const written = writeAuthorityReports(file, incident, obligations, { rules, entities });
    await expect(written).rejects.toThrow(InvalidInputError);
    await expect(writeAuthorityReports(file, incident, obligations, { rules, entities })).rejects.toThrow(`--reports ${file}: cannot create it (EEXIST)`);
  });
});
