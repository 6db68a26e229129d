import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { parseEntities } from './entities.ts';
import { affectedFromExposures, parseObligationsIncidentText, type AffectedPerson, type ObligationsIncident } from './incident-input.ts';
import { obligationsFor, type AuthorityLine, type Obligations, type ObligationLine } from './obligations.ts';
import { loadRules } from './rules.ts';

const rules = loadRules(fileURLToPath(new URL('../../rules', import.meta.url)));

function incident(affected: AffectedPerson[], over: Partial<ObligationsIncident> = {}): ObligationsIncident {
  return {
    id: 'inc-1',
    kind: 'insider',
    awareAt: '2026-11-18T14:00:00.000Z',
    recipient: 'third-party',
    controller: { name: 'Example Marketplace, Inc.', country: 'US' },
    affected,
    encrypted: false,
    ...over,
  };
}

function people(n: number, p: Omit<AffectedPerson, 'customer'>): AffectedPerson[] {
  return Array.from({ length: n }, (_, i) => ({ customer: `c${i}`, ...p }));
}

function authority(o: Obligations, jurisdiction: string, id?: string): AuthorityLine {
  const line = o.authorities.find((l) => l.jurisdiction === jurisdiction && (id === undefined || l.authorityId === id));
  if (!line) throw new Error(`no authority line for ${jurisdiction} ${id ?? ''}`);
  return line;
}

function individuals(o: Obligations, jurisdiction: string): ObligationLine {
  const line = o.individuals.find((l) => l.jurisdiction === jurisdiction);
  if (!line) throw new Error(`no individuals line for ${jurisdiction}`);
  return line;
}

describe('rules table', () => {
  it('loads every shipped jurisdiction, each versioned and reviewed, the 30 EEA states sharing GDPR with their own authority', () => {
    const gdpr = [...rules.rules.values()].filter((r) => r.regime === 'GDPR');
    expect(gdpr).toHaveLength(30);
    // Denmark's and Norway's are both called Datatilsynet; every other name is distinct.
    expect(new Set(gdpr.map((r) => r.authorities[0]!.name)).size).toBe(29);
    expect(rules.rules.get('FR')!.authorities[0]!.name).toContain('CNIL');
    for (const code of ['GB', 'CA', 'ID', 'BR', 'SG', 'AU', 'JP', 'IN', 'US-CA', 'US-NY', 'US-TX', 'US-FL']) {
      const rule = rules.rules.get(code);
      expect(rule, code).toBeDefined();
      expect(rule!.version).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(rule!.reviewed).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      for (const a of rule!.authorities) expect(a.quote.length, `${code} ${a.id}`).toBeGreaterThan(40);
    }
  });
});

describe('rules table checks', () => {
  function brokenTable(file: string, edit: (rule: Record<string, any>) => void): string {
    const dir = mkdtempSync(join(tmpdir(), 'custos-rules-'));
    cpSync(fileURLToPath(new URL('../../rules', import.meta.url)), dir, { recursive: true });
    const path = join(dir, 'jurisdictions', file);
    const rule = JSON.parse(readFileSync(path, 'utf8'));
    edit(rule);
    writeFileSync(path, JSON.stringify(rule));
    return dir;
  }

  it('a rule naming an element the vocabulary lacks is refused, naming the file and the field', () => {
    const dir = brokenTable('US-TX.json', (r) => (r.elements.anyOf[0] = ['name', 'socialSecurity']));
    expect(() => loadRules(dir)).toThrow(ConfigError);
    expect(() => loadRules(dir)).toThrow(/US-TX\.json: authorities\[0\]\.test\.all\[0\]\.elements\[0\] names "socialSecurity"/);
  });

  it('a deadline without a period, or an unknown time zone, is refused', () => {
    expect(() => loadRules(brokenTable('BR.json', (r) => (r.individuals.deadline = { text: 'soon' })))).toThrow(/BR\.json: individuals\.deadline must give one of hours, calendarDays, workingDays or none/);
    expect(() => loadRules(brokenTable('SG.json', (r) => (r.timezone = 'Asia/Nowhere')))).toThrow(/SG\.json: timezone "Asia\/Nowhere" is not an IANA time zone/);
  });
});

describe('GDPR', () => {
  it('a controller outside the EEA: each member state authority where people live, 72 h from awareness, assess with the Art. 33(1) question', () => {
    const o = obligationsFor(incident([...people(2, { country: 'FR', fields: ['email', 'phone'] }), ...people(1, { country: 'IT', fields: ['email'] })]), { rules });
    const fr = authority(o, 'FR');
    expect(fr.required).toBe('assess');
    expect(fr.deadline).toBe('2026-11-21T14:00:00Z');
    expect(fr.affected).toBe(2);
    expect(fr.question).toContain('unlikely to result in a risk');
    expect(fr.basis).toContain('GDPR Art. 33(1)');
    expect(fr.basis).toContain('not later than 72 hours');
    expect(authority(o, 'IT').authority).toContain('Garante');
    expect(individuals(o, 'FR').required).toBe('assess');
    expect(individuals(o, 'FR').deadline).toBeNull();
    expect(o.records.map((r) => r.jurisdiction)).toEqual(['FR', 'IT']);
  });

  it('a controller established in the EEA: its lead authority takes every EEA data subject; the others say no, and why', () => {
    const o = obligationsFor(
      incident([...people(2, { country: 'FR', fields: ['email'] }), ...people(3, { country: 'DE', fields: ['email'] })], { controller: { name: 'EU Ltd', country: 'IE' } }),
      { rules },
    );
    const ie = authority(o, 'IE');
    expect(ie.required).toBe('assess');
    expect(ie.affected).toBe(5);
    expect(ie.byCountry).toEqual({ DE: 3, FR: 2 });
    for (const code of ['FR', 'DE']) {
      expect(authority(o, code).required).toBe('no');
      expect(authority(o, code).reason).toContain('lead supervisory authority (IE');
    }
  });

  it('with the entities, each EEA customer\'s own entity decides the lead authority', () => {
    const entities = parseEntities(
      {
        entities: [
          { id: 'eu', name: 'EU Ltd', country: 'IE', address: 'Dublin', dpo: { name: 'DPO', email: 'dpo@eu.example' }, leadAuthority: { jurisdiction: 'IE', name: 'DPC' } },
          { id: 'us', name: 'US Inc', country: 'US', address: 'Seattle', dpo: { name: 'CPO', email: 'cpo@us.example' }, leadAuthority: { jurisdiction: 'US-WA', name: 'AG' } },
        ],
        default: 'us',
        byJurisdiction: { FR: 'eu' },
      },
      'entities.json',
    );
    const o = obligationsFor(incident([...people(1, { country: 'FR', fields: ['email'] }), ...people(1, { country: 'ES', fields: ['email'] })]), { rules, entities });
    expect(authority(o, 'IE').affected).toBe(1);
    expect(authority(o, 'FR').required).toBe('no');
    // ES accounts are held by the US entity: no EEA establishment, so Spain's own authority.
    expect(authority(o, 'ES').required).toBe('assess');
  });

  it('encrypted data with its key safe: no communication to individuals under Art. 34(3)(a)', () => {
    const o = obligationsFor(incident(people(1, { country: 'FR', fields: ['email'] }), { encrypted: true }), { rules });
    expect(individuals(o, 'FR').required).toBe('no');
    expect(individuals(o, 'FR').reason).toContain('Art. 34(3)(a)');
    expect(authority(o, 'FR').required).toBe('assess');
  });
});

describe('deadlines', () => {
  it('Brazil: 3 working days, skipping the 20 November public holiday and the weekend', () => {
    // Wednesday 18 Nov 2026: Thu 19 (1), Fri 20 holiday, weekend, Mon 23 (2), Tue 24 (3).
    const o = obligationsFor(incident(people(1, { country: 'BR', fields: ['email', 'password'] })), { rules });
    expect(authority(o, 'BR').deadline).toBe('2026-11-24T23:59:59-03:00');
    expect(individuals(o, 'BR').deadline).toBe('2026-11-24T23:59:59-03:00');
    expect(authority(o, 'BR').required).toBe('assess');
    expect(authority(o, 'BR').reason).toContain('authentication data');
  });

  it('Brazil: counted from the local date of awareness (23:00 in São Paulo is still the 17th)', () => {
    const o = obligationsFor(incident(people(1, { country: 'BR', fields: ['email'] }), { awareAt: '2026-11-18T02:00:00.000Z' }), { rules });
    // Tue 17 local: Wed 18 (1), Thu 19 (2), Fri 20 holiday, Mon 23 (3).
    expect(authority(o, 'BR').deadline).toBe('2026-11-23T23:59:59-03:00');
  });

  it('Indonesia: 3 × 24 hours to the authority and to every data subject, no risk threshold', () => {
    const o = obligationsFor(incident(people(4, { country: 'ID', fields: ['email'] })), { rules });
    for (const line of [authority(o, 'ID'), individuals(o, 'ID')]) {
      expect(line.required).toBe('yes');
      expect(line.deadline).toBe('2026-11-21T14:00:00Z');
      expect(line.basis).toContain('3 x 24');
      expect(line.affected).toBe(4);
    }
  });

  it('Singapore: 3 calendar days after the assessment, notifiable at 500 people for its scale alone', () => {
    const o = obligationsFor(incident(people(500, { country: 'SG', fields: ['email'] }), { assessedAt: '2026-11-25T03:00:00.000Z' }), { rules });
    const sg = authority(o, 'SG');
    expect(sg.required).toBe('yes');
    expect(sg.deadline).toBe('2026-11-28T23:59:59+08:00');
    expect(sg.assessBy).toBe('2026-12-18T23:59:59+08:00');
    // Scale alone does not require telling individuals (s. 26D(2) covers s. 26B(1)(a) only).
    expect(individuals(o, 'SG').required).toBe('assess');
  });

  it('Japan: an insider leak is a wrongful-purpose case, 60 days for the final report', () => {
    const o = obligationsFor(incident(people(3, { country: 'JP', fields: ['email'] })), { rules });
    expect(authority(o, 'JP', 'ppc-final').required).toBe('yes');
    expect(authority(o, 'JP', 'ppc-final').deadline).toBe('2027-01-17T23:59:59+09:00');
    expect(authority(o, 'JP', 'ppc-preliminary').deadline).toBeNull();
    const accidental = obligationsFor(incident(people(3, { country: 'JP', fields: ['email'] }), { kind: 'accidental' }), { rules });
    expect(authority(accidental, 'JP', 'ppc-final').required).toBe('no');
    const bigAccident = obligationsFor(incident(people(1001, { country: 'JP', fields: ['email'] }), { kind: 'accidental' }), { rules });
    expect(authority(bigAccident, 'JP', 'ppc-final').deadline).toBe('2026-12-18T23:59:59+09:00');
    const unknown = obligationsFor(incident(people(3, { country: 'JP', fields: ['email'] }), { kind: 'bug' }), { rules });
    expect(authority(unknown, 'JP', 'ppc-final').required).toBe('assess');
    expect(authority(unknown, 'JP', 'ppc-final').question).toContain('wrongful purpose');
  });

  it('India: the DPDP breach rule is not in force before 13 May 2027; CERT-In\'s 6 hours must be assessed', () => {
    const before = obligationsFor(incident(people(1, { country: 'IN', fields: ['email'] })), { rules });
    expect(authority(before, 'IN', 'dpbi').required).toBe('no');
    expect(authority(before, 'IN', 'dpbi').reason).toContain('2027-05-13');
    expect(authority(before, 'IN', 'cert-in').required).toBe('assess');
    expect(authority(before, 'IN', 'cert-in').deadline).toBe('2026-11-18T20:00:00Z');
    const after = obligationsFor(incident(people(1, { country: 'IN', fields: ['email'] }), { awareAt: '2027-06-01T00:00:00.000Z' }), { rules });
    expect(authority(after, 'IN', 'dpbi').required).toBe('yes');
    expect(authority(after, 'IN', 'dpbi').deadline).toBe('2027-06-04T00:00:00Z');
  });

  it('Canada: real risk of significant harm is assessed, no fixed period; the record is kept 24 months', () => {
    const o = obligationsFor(incident(people(1, { country: 'CA', region: 'CA-ON', fields: ['email'] })), { rules });
    expect(authority(o, 'CA').required).toBe('assess');
    expect(authority(o, 'CA').question).toContain('real risk of significant harm');
    expect(authority(o, 'CA').deadline).toBeNull();
    expect(o.records.find((r) => r.jurisdiction === 'CA')!.keepUntil).toBe('2028-11-18');
  });

  it('Québec residents are under both PIPEDA and the Québec private sector Act, whose register is kept 5 years', () => {
    const o = obligationsFor(incident(people(1, { country: 'CA', region: 'CA-QC', fields: ['email'] })), { rules });
    expect(o.authorities.map((l) => l.jurisdiction)).toEqual(['CA', 'CA-QC']);
    expect(o.records.find((r) => r.jurisdiction === 'CA-QC')!.keepUntil).toBe('2031-11-18');
  });
});

describe('US states: each with its own data elements', () => {
  it('an e-mail address alone triggers no duty, and the line says so', () => {
    const o = obligationsFor(incident(people(300, { country: 'US', region: 'US-TX', fields: ['email'] })), { rules });
    const line = individuals(o, 'US-TX');
    expect(line.required).toBe('no');
    expect(line.deadline).toBeNull();
    expect(line.reason).toMatch(/e-mail address.*alone.*is not enough/);
    expect(authority(o, 'US-TX', 'ag').required).toBe('no');
    expect(line.affected).toBe(300);
  });

  it('name and phone trigger nothing in California, New York, Texas or Florida', () => {
    for (const region of ['US-CA', 'US-NY', 'US-TX', 'US-FL']) {
      const o = obligationsFor(incident(people(1, { country: 'US', region, fields: ['name', 'phone'] })), { rules });
      expect(individuals(o, region).required, region).toBe('no');
    }
  });

  it('an e-mail address with a password: California 30 days, but not Texas, whose definition lacks credentials', () => {
    const ca = obligationsFor(incident(people(1, { country: 'US', region: 'US-CA', fields: ['email', 'password'] })), { rules });
    expect(individuals(ca, 'US-CA').required).toBe('yes');
    expect(individuals(ca, 'US-CA').deadline).toBe('2026-12-18T23:59:59-08:00');
    const tx = obligationsFor(incident(people(1, { country: 'US', region: 'US-TX', fields: ['email', 'password'] })), { rules });
    expect(individuals(tx, 'US-TX').required).toBe('no');
  });

  it('Texas: residents within 60 days; the Attorney General within 30 days from 250 residents, not 249', () => {
    const at250 = obligationsFor(incident(people(250, { country: 'US', region: 'US-TX', fields: ['name', 'ssn'] })), { rules });
    expect(individuals(at250, 'US-TX').deadline).toBe('2027-01-17T23:59:59-06:00');
    expect(authority(at250, 'US-TX', 'ag').required).toBe('yes');
    expect(authority(at250, 'US-TX', 'ag').deadline).toBe('2026-12-18T23:59:59-06:00');
    const at249 = obligationsFor(incident(people(249, { country: 'US', region: 'US-TX', fields: ['name', 'ssn'] })), { rules });
    expect(authority(at249, 'US-TX', 'ag').required).toBe('no');
    expect(authority(at249, 'US-TX', 'ag').reason).toContain('only 249');
    expect(authority(at250, 'US-TX', 'cra').required).toBe('no');
  });

  it('Florida: the Department of Legal Affairs from 500 residents, 30 days; only people whose data triggers count', () => {
    const o = obligationsFor(
      incident([...people(499, { country: 'US', region: 'US-FL', fields: ['email', 'securityAnswer'] }), ...people(10, { country: 'US', region: 'US-FL', fields: ['email'] }).map((p) => ({ ...p, customer: `x${p.customer}` }))]),
      { rules },
    );
    expect(individuals(o, 'US-FL').affected).toBe(499);
    expect(authority(o, 'US-FL', 'dla').required).toBe('no');
    const many = obligationsFor(incident(people(1001, { country: 'US', region: 'US-FL', fields: ['name', 'ssn'] })), { rules });
    expect(authority(many, 'US-FL', 'cra')).toMatchObject({ required: 'yes', deadline: null, affected: 1001 });
  });

  it('California\'s Attorney General: 15 days after the consumer notices, from 501 residents', () => {
    const o = obligationsFor(incident(people(501, { country: 'US', region: 'US-CA', fields: ['name', 'driversLicense'] })), { rules });
    expect(authority(o, 'US-CA').required).toBe('yes');
    expect(authority(o, 'US-CA').deadline).toBe('2027-01-02T23:59:59-08:00');
  });

  it('a field no element lists: assess, naming it, never a silent no', () => {
    const o = obligationsFor(incident(people(1, { country: 'US', region: 'US-NY', fields: ['email', 'loyaltyId'] })), { rules });
    expect(individuals(o, 'US-NY').required).toBe('assess');
    expect(individuals(o, 'US-NY').question).toContain('loyaltyId');
  });

  it('encrypted data is outside the state definitions', () => {
    const o = obligationsFor(incident(people(1, { country: 'US', region: 'US-CA', fields: ['email', 'password'] }), { encrypted: true }), { rules });
    expect(individuals(o, 'US-CA').required).toBe('no');
    expect(individuals(o, 'US-CA').reason).toContain('encrypted');
  });
});

describe('jurisdictions without a rule', () => {
  it('a country the table does not cover gets assess lines saying there is no rule', () => {
    const o = obligationsFor(incident(people(2, { country: 'MX', fields: ['email'] })), { rules });
    for (const line of [authority(o, 'MX'), individuals(o, 'MX')]) {
      expect(line.required).toBe('assess');
      expect(line.deadline).toBeNull();
      expect(line.basis).toContain('no rule for MX');
      expect(line.affected).toBe(2);
    }
    // Named for the DPO to find, never null.
    expect(authority(o, 'MX').authority).toBe('the data protection authority of MX, if any (not in the rules table)');
    expect(authority(o, 'MX').authorityId).toBeNull();
  });

  it('people whose country is not known get an assess line with a named authority, never null', () => {
    const o = obligationsFor(incident(people(1, { country: 'unknown', fields: ['email'] })), { rules });
    expect(authority(o, 'unknown')).toMatchObject({ required: 'assess', authority: 'not known: the people\'s country is not known', authorityId: null });
    expect(authority(o, 'unknown').basis).toContain('their customer record was not found');
  });

  it('a US customer without a state, or in a state without a rule, is not dropped', () => {
    const o = obligationsFor(incident([{ customer: 'a', country: 'US', fields: ['email'] }, { customer: 'b', country: 'US', region: 'US-OR', fields: ['email'] }]), { rules });
    expect(o.authorities.map((l) => [l.jurisdiction, l.required])).toEqual([
      ['US', 'assess'],
      ['US-OR', 'assess'],
    ]);
    expect(authority(o, 'US').question).toContain('Which subdivision does each live in?');
    expect(authority(o, 'US-OR').question).toContain('no rule for US-OR');
  });
});

describe('from a blast radius', () => {
  it('its customers become the affected people; one whose record was not found is asked about, not dropped', () => {
    const affected = affectedFromExposures([
      { customer: 'c1', fields: ['email', 'phone'], first: '2026-11-01T00:00:00.000Z', last: '2026-11-02T00:00:00.000Z', events: 2, unjustified: 2, country: 'IT' },
      { customer: 'c2', fields: ['email'], first: '2026-11-01T00:00:00.000Z', last: '2026-11-01T00:00:00.000Z', events: 1, unjustified: 1, country: 'unknown' },
    ]);
    const o = obligationsFor(incident(affected), { rules });
    expect(authority(o, 'IT').affected).toBe(1);
    expect(authority(o, 'unknown').required).toBe('assess');
    expect(authority(o, 'unknown').question).toContain('country is not known');
  });
});

describe('scale', () => {
  it('100,000 affected people across the demo countries are answered at once, grouped by their sets of fields', () => {
    const countries = [['FR'], ['DE'], ['IT'], ['ES'], ['GB'], ['ID'], ['BR'], ['JP'], ['CA', 'CA-QC'], ['US', 'US-TX']] as const;
    const affected = Array.from({ length: 100_000 }, (_, i): AffectedPerson => {
      const [country, region] = countries[i % countries.length]!;
      return { customer: `c${i}`, country, ...(region ? { region } : {}), fields: i % 3 ? ['email'] : ['email', 'phone'] };
    });
    const started = performance.now();
    const o = obligationsFor(incident(affected, { controller: { name: 'EU Ltd', country: 'IE' } }), { rules });
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(authority(o, 'IE').affected).toBe(40_000);
    expect(individuals(o, 'US-TX').affected).toBe(10_000);
  });
});

describe('the README example (examples/incident.json)', () => {
  it('answers as the README says', () => {
    const path = fileURLToPath(new URL('../../examples/incident.json', import.meta.url));
    const o = obligationsFor(parseObligationsIncidentText(readFileSync(path, 'utf8'), path), { rules });
    const answers = Object.fromEntries(o.authorities.map((l) => [`${l.jurisdiction}/${l.authorityId}`, l.required]));
    expect(answers).toMatchObject({ 'IE/sa': 'assess', 'DE/sa': 'no', 'FR/sa': 'no', 'ID/lembaga': 'yes', 'JP/ppc-final': 'yes', 'BR/anpd': 'assess', 'GB/ico': 'assess', 'CA/opc': 'assess', 'CA-QC/cai': 'assess', 'US-CA/ag': 'no', 'US-TX/ag': 'no', 'US-NY/state': 'no' });
    expect(authority(o, 'IE').affected).toBe(4);
    expect(o.individuals.filter((l) => l.jurisdiction.startsWith('US-')).map((l) => l.required)).toEqual(['no', 'no', 'no']);
  });
});

describe('output shape', () => {
  it('authorities and individuals lines carry the contract fields, deadlines RFC 3339 or null', () => {
    const o = obligationsFor(incident([...people(1, { country: 'GB', fields: ['email'] }), ...people(1, { country: 'BR', fields: ['email'] })]), { rules });
    const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$/;
    for (const line of [...o.authorities, ...o.individuals]) {
      expect(Object.keys(line)).toEqual(expect.arrayContaining(['jurisdiction', 'required', 'deadline', 'basis', 'affected']));
      expect(['yes', 'no', 'assess']).toContain(line.required);
      if (line.deadline !== null) expect(line.deadline).toMatch(rfc3339);
      expect(line.basis.length).toBeGreaterThan(20);
    }
    for (const line of o.authorities) expect(typeof line.authority).toBe('string');
  });
});
