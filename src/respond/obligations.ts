/**
 * Who must be told of a breach, by when, and why: each affected person's jurisdictions (their
 * country, and their ISO 3166-2 subdivision where it has its own law) looked up in the cited
 * rules table (rules.ts), each duty's test evaluated on the incident's facts. A test that needs a
 * human judgement answers `assess` with the question to answer; a jurisdiction without a rule
 * answers `assess` saying so; a duty that does not apply answers `no` with the reason. Nothing
 * is left out silently.
 */
import { normaliseFieldName, type AuthorityDuty, type Duty, type JurisdictionRule, type RulesTable, type Test } from './rules.ts';
import { addHours, calendarDaysAfter, localDate, utcTime, workingDaysAfter } from './deadlines.ts';
import type { EntitiesConfig } from './entities.ts';
import type { AffectedPerson, ObligationsIncident } from './incident-input.ts';

export type Required = 'yes' | 'no' | 'assess';

export interface ObligationLine {
  jurisdiction: string;
  required: Required;
  /** RFC 3339, or null where the law sets no fixed period or no duty applies. */
  deadline: string | null;
  /** The citation, the rule's text and why it answers as it does: what a reviewer reads. */
  basis: string;
  /** People in this line's scope (for a duty that depends on data elements: those whose data triggers it). */
  affected: number;
  law: string;
  cite: string;
  quote: string;
  reason: string;
  /** The question the DPO must answer, when required is assess. */
  question?: string;
  /** How the law words the period. */
  deadlineRule: string;
  /** When the law expects the assessment done (SG s. 26C, AU s. 26WH(2)). */
  assessBy?: string;
  rulesVersion: string | null;
  /** People in scope by country, by ISO 3166-2 region (or country, when none is known), and by field disclosed. */
  byCountry: Record<string, number>;
  byRegion: Record<string, number>;
  byField: Record<string, number>;
}

export interface AuthorityLine extends ObligationLine {
  /** The authority's name; for a place without a rule, a sentence saying so (never null). */
  authority: string;
  /** Its id in the rules table; null for a place without a rule. */
  authorityId: string | null;
  stage?: string;
}

export interface RecordLine {
  jurisdiction: string;
  required: 'yes';
  basis: string;
  /** The earliest date the record may be discarded, where the law sets a period. */
  keepUntil: string | null;
}

export interface Obligations {
  incident: string;
  awareAt: string;
  controller: string;
  rulesVersion: string;
  authorities: AuthorityLine[];
  individuals: ObligationLine[];
  records: RecordLine[];
}

export interface ObligationsOptions {
  /** The rules table (loadRules(config.rulesDir)). */
  rules: RulesTable;
  /**
   * The legal entities: with them, each person's controller is the entity holding their account
   * (entities.ts), and an EEA entity's lead authority receives its customers' GDPR notification.
   * Without them, the incident's controller is everyone's.
   */
  entities?: EntitiesConfig;
}

/** The obligations an incident creates, from the rules table. */
export function obligationsFor(incident: ObligationsIncident, options: ObligationsOptions): Obligations {
  const { rules } = options;
  const groups = groupByJurisdiction(incident.affected, rules);
  const facts = incidentFacts(incident, rules);
  const authorities: AuthorityLine[] = [];
  const individuals: ObligationLine[] = [];
  const records: RecordLine[] = [];
  const leadOf = leadAuthorityOf(incident, rules, options.entities);
  const leadScopes = new Map<string, AffectedPerson[]>();
  for (const [code, persons] of groups) {
    if (!rules.rules.get(code)?.oneStopShop) continue;
    for (const p of persons) {
      const lead = leadOf(p);
      if (lead) pushTo(leadScopes, lead, p);
    }
  }
  const authorityLine = (rule: JurisdictionRule, duty: AuthorityDuty, scope: AffectedPerson[], individualDeadline: string | null | undefined): AuthorityLine => ({
    ...evaluateDuty(duty, rule, scope, facts, individualDeadline),
    authority: duty.name,
    authorityId: duty.id,
    ...(duty.stage ? { stage: duty.stage } : {}),
  });

  for (const [code, persons] of groups) {
    const rule = rules.rules.get(code);
    if (!rule) {
      authorities.push({ ...noRuleLine(code, persons, rules, 'an authority'), authority: unknownAuthority(code), authorityId: null });
      individuals.push(noRuleLine(code, persons, rules, 'the people affected'));
      continue;
    }
    const individualLine = rule.individuals ? evaluateDuty(rule.individuals, rule, persons, facts, undefined) : noDutyLine(rule, persons, 'individuals');
    for (const duty of rule.authorities) {
      if (!rule.oneStopShop) {
        authorities.push(authorityLine(rule, duty, persons, individualLine.deadline));
        continue;
      }
      // GDPR: people whose controller has no EEA establishment are notified here; people whose
      // controller leads elsewhere are notified through that lead; a lead here takes all of its own.
      const own = persons.filter((p) => !leadOf(p));
      const scope = [...own, ...(leadScopes.get(code) ?? [])];
      if (scope.length) authorities.push(authorityLine(rule, duty, scope, individualLine.deadline));
      const elsewhere = new Map<string, AffectedPerson[]>();
      for (const p of persons) {
        const lead = leadOf(p);
        if (lead && lead !== code) pushTo(elsewhere, lead, p);
      }
      for (const [lead, routed] of elsewhere) authorities.push(routedLine(rule, duty, routed, lead, rules));
    }
    individuals.push(individualLine);
    if (rule.records) records.push(recordLine(rule, incident));
  }
  // A lead authority whose own country has nobody affected still receives the notification.
  for (const [lead, scope] of leadScopes) {
    if (groups.has(lead)) continue;
    const rule = rules.rules.get(lead)!;
    for (const duty of rule.authorities) authorities.push(authorityLine(rule, duty, scope, null));
  }
  const byJurisdiction = (a: { jurisdiction: string }, b: { jurisdiction: string }) => a.jurisdiction.localeCompare(b.jurisdiction);
  authorities.sort(byJurisdiction);
  individuals.sort(byJurisdiction);
  records.sort(byJurisdiction);
  return {
    incident: incident.id,
    awareAt: incident.awareAt,
    controller: incident.controller.name,
    rulesVersion: rules.version,
    authorities,
    individuals,
    records,
  };
}

// ---------------------------------------------------------------- grouping

function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Each person under their country's rule and their subdivision's (CA and CA-QC both apply). */
function groupByJurisdiction(affected: AffectedPerson[], rules: RulesTable): Map<string, AffectedPerson[]> {
  const groups = new Map<string, AffectedPerson[]>();
  const add = (code: string, p: AffectedPerson) => pushTo(groups, code, p);
  for (const p of affected) {
    let matched = false;
    if (rules.rules.has(p.country)) {
      add(p.country, p);
      matched = true;
    }
    if (p.region && rules.rules.has(p.region)) {
      add(p.region, p);
      matched = true;
    }
    // No rule: the most precise code we have, so the line says which law is missing.
    if (!matched) add(p.region ?? p.country, p);
  }
  return groups;
}

/**
 * GDPR Art. 56(1) and 60: a controller established in the EEA notifies its lead supervisory
 * authority for every EEA data subject; one established elsewhere notifies each member state's
 * authority where data subjects reside (EDPB Guidelines 9/2022 para. 73). Returns, for a person,
 * their controller's lead jurisdiction, or undefined when it has no EEA establishment.
 */
function leadAuthorityOf(incident: ObligationsIncident, rules: RulesTable, entities: EntitiesConfig | undefined): (p: AffectedPerson) => string | undefined {
  const eea = (code: string | undefined) => (code && rules.rules.get(code)?.oneStopShop ? code : undefined);
  const incidentLead = eea(incident.controller.lead ?? incident.controller.country);
  if (!entities) return () => incidentLead;
  return (p) => {
    const { entity } = entities.entityFor({ id: p.customer, country: p.country, ...(p.region ? { region: p.region } : {}), ...(p.entity ? { entity: p.entity } : {}) });
    return eea(entity.country) ? eea(entity.leadAuthority.jurisdiction) ?? entity.country : undefined;
  };
}

// ---------------------------------------------------------------- facts and tests

interface IncidentFacts {
  incident: ObligationsIncident;
  total: number;
  /** Field name → element (undefined: unclassified). */
  elementOf: (field: string) => string | undefined;
  elementLabel: (element: string) => string;
}

function incidentFacts(incident: ObligationsIncident, rules: RulesTable): IncidentFacts {
  return {
    incident,
    total: incident.affected.length,
    elementOf: (field) => rules.elements.byField.get(normaliseFieldName(field)),
    elementLabel: (element) => rules.elements.labels.get(element) ?? element,
  };
}

interface Outcome {
  required: Required;
  reasons: string[];
  questions: string[];
  /** Ids of tests that answered yes (a deadline may depend on which: APPI's 60 days). */
  yes: Set<string>;
}

interface EvaluationScope {
  /** Each distinct set of disclosed fields in scope, with how many people had exactly it. */
  signatures: Array<{ fields: string[]; people: number }>;
  /** People counted by `count` tests of jurisdiction scope; undefined while deciding per person. */
  count?: number;
}

function outcome(required: Required, reason: string, question?: string, id?: string): Outcome {
  return { required, reasons: required === 'assess' ? [] : [reason], questions: question ? [question] : [], yes: new Set(required === 'yes' && id ? [id] : []) };
}

function evaluate(test: Test, scope: EvaluationScope, facts: IncidentFacts): Outcome {
  switch (test.type) {
    case 'always':
      return outcome('yes', test.why, undefined, test.id);
    case 'judgement':
      return outcome('assess', '', test.question);
    case 'count': {
      if (scope.count === undefined) return outcome('yes', '', undefined, test.id);
      const n = test.scope === 'incident' ? facts.total : scope.count;
      const people = n === 1 ? 'person' : 'people';
      const whose = test.scope === 'incident' ? `${people} affected in all` : `${people} affected here whose data triggers the duty`;
      if (n >= test.min) return outcome('yes', `${n} ${whose}: ${test.label}`, undefined, test.id);
      // Nobody in scope: the elements test already says why; "only 0 people" adds nothing.
      return outcome('no', n === 0 ? '' : `only ${n} ${whose}, below the threshold: ${test.label}`);
    }
    case 'kind': {
      const kind = facts.incident.kind.toLowerCase();
      if (test.yes.includes(kind)) return outcome('yes', `incident kind "${kind}": ${test.label}`, undefined, test.id);
      if (test.no.includes(kind)) return outcome('no', `incident kind "${kind}" is not ${test.label}`);
      return outcome('assess', '', `${test.question} (incident kind "${kind}" does not say)`);
    }
    case 'elements':
      return evaluateElements(test, scope, facts);
    case 'any':
    case 'all': {
      const parts = test.tests.map((t) => evaluate(t, scope, facts));
      const yes = new Set(parts.flatMap((p) => [...p.yes]));
      const decisive: Required = test.type === 'any' ? 'yes' : 'no';
      const hits = parts.filter((p) => p.required === decisive);
      let result: Outcome;
      if (hits.length) {
        result = { required: decisive, reasons: hits.flatMap((p) => p.reasons).filter(Boolean), questions: [], yes };
      } else if (parts.some((p) => p.required === 'assess')) {
        // Undecided: say what is known (the other answers) and what must be decided.
        result = { required: 'assess', reasons: parts.flatMap((p) => p.reasons), questions: parts.flatMap((p) => p.questions), yes };
      } else {
        result = { required: test.type === 'any' ? 'no' : 'yes', reasons: parts.flatMap((p) => p.reasons), questions: [], yes };
      }
      if (result.required === 'yes' && test.id) result.yes.add(test.id);
      return result;
    }
  }
}

/** Yes if someone's disclosed fields make up one of the law's combinations; assess if unclassified fields might. */
function evaluateElements(test: Extract<Test, { type: 'elements' }>, scope: EvaluationScope, facts: IncidentFacts): Outcome {
  let matched: string[] | undefined;
  const unclassified = new Set<string>();
  const seen = new Set<string>();
  for (const { fields } of scope.signatures) {
    const elements = new Set<string>();
    for (const f of fields) {
      const e = facts.elementOf(f);
      if (e) elements.add(e);
      else unclassified.add(f);
      seen.add(f);
    }
    const combo = test.anyOf.find((c) => c.every((e) => elements.has(e)));
    if (combo && !matched) matched = combo;
  }
  if (matched) {
    return outcome('yes', `the disclosed data includes ${matched.map(facts.elementLabel).join(' + ')}, which triggers the duty: ${test.label}`, undefined, test.id);
  }
  const disclosed = [...seen].sort().join(', ');
  if (unclassified.size) {
    return outcome('assess', '', `Do the unclassified fields ${[...unclassified].sort().join(', ')} hold any of these elements: ${test.label}? The other disclosed fields do not trigger the duty (add the field to rules/data-elements.json to decide it automatically).`);
  }
  return outcome('no', `the disclosed fields (${disclosed}) do not make up any combination that triggers the duty; an e-mail address or phone number alone, or with a name, is not enough: ${test.label}`);
}

function hasElementsTest(test: Test): boolean {
  return test.type === 'elements' || ((test.type === 'any' || test.type === 'all') && test.tests.some(hasElementsTest));
}

// ---------------------------------------------------------------- lines

function signaturesOf(persons: AffectedPerson[]): Array<{ fields: string[]; people: number; persons: AffectedPerson[] }> {
  const bySignature = new Map<string, { fields: string[]; people: number; persons: AffectedPerson[] }>();
  for (const p of persons) {
    const fields = [...p.fields].sort();
    const key = fields.join('\u0000');
    const entry = bySignature.get(key);
    if (entry) {
      entry.people++;
      entry.persons.push(p);
    } else bySignature.set(key, { fields, people: 1, persons: [p] });
  }
  return [...bySignature.values()];
}

function countBy(persons: AffectedPerson[], keys: (p: AffectedPerson) => string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const p of persons) for (const key of keys(p)) counts[key] = (counts[key] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}

/** The counts every line carries: by country, by region (country when none is known), by field. */
function counts(persons: AffectedPerson[]): Pick<ObligationLine, 'byCountry' | 'byRegion' | 'byField'> {
  return {
    byCountry: countBy(persons, (p) => [p.country]),
    byRegion: countBy(persons, (p) => [p.region ?? p.country]),
    byField: countBy(persons, (p) => p.fields),
  };
}

function factsSentence(persons: number, fields: string[], incident: ObligationsIncident, where: string): string {
  return `facts: ${persons} ${persons === 1 ? 'person' : 'people'} in ${where}; fields disclosed: ${fields.join(', ')}; recipient: ${incident.recipient}; kind: ${incident.kind}; data ${incident.encrypted ? 'encrypted (key not disclosed)' : 'not encrypted'}`;
}

function lawName(rule: JurisdictionRule): string {
  return rule.law.short;
}

function evaluateDuty(duty: Duty | AuthorityDuty, rule: JurisdictionRule, persons: AffectedPerson[], facts: IncidentFacts, individualDeadline: string | null | undefined): ObligationLine {
  const { incident } = facts;
  const awareDay = incident.awareAt.slice(0, 10);
  const base = {
    jurisdiction: rule.jurisdiction,
    law: lawName(rule),
    cite: duty.cite,
    quote: duty.quote,
    deadlineRule: duty.deadline.text,
    rulesVersion: rule.version,
  };
  const line = (required: Required, reason: string, scope: AffectedPerson[], deadline: string | null, question?: string, assessBy?: string): ObligationLine => {
    const basis = `${duty.cite}: "${duty.quote}" — ${required === 'assess' ? `assess: ${question}` : reason}${required === 'assess' && reason ? ` (known: ${reason})` : ''} [${rule.law.short}; rules ${rule.jurisdiction} ${rule.version}]`;
    return {
      ...base,
      required,
      deadline: required === 'no' ? null : deadline,
      basis,
      affected: scope.length,
      reason,
      ...(question ? { question } : {}),
      ...(assessBy && required !== 'no' ? { assessBy } : {}),
      ...counts(scope),
    };
  };

  const inForce = duty.inForceFrom ?? rule.inForceFrom;
  if (inForce && awareDay < inForce) {
    return line('no', `${duty.cite} is not in force before ${inForce}; the incident's awareness date is ${awareDay} (check transitional and sectoral rules)`, persons, null);
  }
  if (incident.encrypted && duty.exemptIfEncrypted) {
    return line('no', `the data was encrypted and its key not disclosed: ${duty.exemptIfEncrypted.cite}: "${duty.exemptIfEncrypted.quote}" (confirm the key was not compromised)`, persons, null);
  }

  // Per distinct set of fields: who is within the duty (count thresholds left for the whole line).
  const signatures = signaturesOf(persons);
  let scope = persons;
  if (hasElementsTest(duty.test)) {
    scope = signatures.filter((s) => evaluate(duty.test, { signatures: [s] }, facts).required !== 'no').flatMap((s) => s.persons);
  }
  // Nobody within the duty: the answer (no) is still explained from everyone's fields.
  const judgedSignatures = scope === persons || scope.length === 0 ? signatures : signaturesOf(scope);
  const judged = evaluate(duty.test, { signatures: judgedSignatures.map(({ fields, people }) => ({ fields, people })), count: scope.length }, facts);
  const lineScope = judged.required === 'no' ? persons : scope;
  const fields = [...new Set(lineScope.flatMap((p) => p.fields))].sort();
  const reason = judged.reasons.join('; ');
  const countries = [...new Set(lineScope.map((p) => p.country))].sort();
  const inRule = lineScope.every((p) => p.country === rule.jurisdiction || p.region === rule.jurisdiction);
  const where = inRule || !countries.length ? rule.name : countries.join(', ');
  const question = judged.questions.length ? `${judged.questions.join(' ')} (${factsSentence(lineScope.length, fields, incident, where)})` : undefined;
  const deadline = deadlineOf(duty, rule, incident, judged.yes, individualDeadline);
  const assessBy = duty.assessWithinDays ? calendarDaysAfter(new Date(incident.awareAt), duty.assessWithinDays, rule.timezone) : undefined;
  return line(judged.required, reason, lineScope, deadline, question, assessBy);
}

function deadlineOf(duty: Duty, rule: JurisdictionRule, incident: ObligationsIncident, yes: Set<string>, individualDeadline: string | null | undefined): string | null {
  const d = duty.deadline;
  if (d.kind === 'none') return null;
  let start: Date;
  if (d.from === 'individualNotice') {
    if (!individualDeadline) return null;
    start = new Date(individualDeadline);
  } else {
    start = new Date(d.from === 'assessment' ? (incident.assessedAt ?? incident.awareAt) : incident.awareAt);
  }
  switch (d.kind) {
    case 'hours':
      return addHours(start, d.hours);
    case 'workingDays':
      return workingDaysAfter(start, d.days, rule.timezone, rule.holidays);
    case 'calendarDays': {
      const longer = Object.entries(d.whenYes ?? {}).filter(([id]) => yes.has(id)).map(([, days]) => days);
      return calendarDaysAfter(start, Math.max(d.days, ...longer), rule.timezone);
    }
  }
}

function routedLine(rule: JurisdictionRule, duty: AuthorityDuty, persons: AffectedPerson[], lead: string, rules: RulesTable): AuthorityLine {
  const leadRule = rules.rules.get(lead)!;
  const leadName = leadRule.authorities[0]?.name ?? lead;
  const oss = rule.oneStopShop!;
  const reason = `the controller's lead supervisory authority (${lead}: ${leadName}) receives the notification for every EEA data subject; ${duty.name} is informed as a concerned authority through it`;
  return {
    jurisdiction: rule.jurisdiction,
    required: 'no',
    deadline: null,
    basis: `${duty.cite} with ${oss.cite}: "${oss.quote}" — ${reason} [${rule.law.short}; rules ${rule.jurisdiction} ${rule.version}]`,
    affected: persons.length,
    law: rule.law.short,
    cite: `${duty.cite}; ${oss.cite}`,
    quote: oss.quote,
    reason,
    deadlineRule: duty.deadline.text,
    rulesVersion: rule.version,
    ...counts(persons),
    authority: duty.name,
    authorityId: duty.id,
  };
}

function noDutyLine(rule: JurisdictionRule, persons: AffectedPerson[], who: string): ObligationLine {
  const reason = `${rule.law.short} sets no duty to notify ${who} in the rules table`;
  return {
    jurisdiction: rule.jurisdiction,
    required: 'no',
    deadline: null,
    basis: `${rule.law.title} — ${reason} [rules ${rule.jurisdiction} ${rule.version}]`,
    affected: persons.length,
    law: rule.law.short,
    cite: rule.law.title,
    quote: '',
    reason,
    deadlineRule: '',
    rulesVersion: rule.version,
    ...counts(persons),
  };
}

/** The authority line of a place the rules table does not know: named for the DPO to find, never null. */
function unknownAuthority(code: string): string {
  return PLACE_RE.test(code) ? `the data protection authority of ${code}, if any (not in the rules table)` : 'not known: the people\'s country is not known';
}

const PLACE_RE = /^[A-Z]{2}(-[A-Z0-9]{1,3})?$/;

function noRuleLine(code: string, persons: AffectedPerson[], rules: RulesTable, whom: string): ObligationLine {
  if (!PLACE_RE.test(code)) {
    const question = `These people's country is not known (${code}: their customer record was not found). Find where they live and run again; until then, ask counsel whether notifying ${whom} is required.`;
    return { ...noRuleBase(code, persons, question), reason: 'country not known' };
  }
  const subdivisions = code.length === 2 ? [...rules.rules.keys()].filter((k) => k.startsWith(`${code}-`)).sort() : [];
  // A US customer without a state: the laws are the states' (the table has some), so the state decides.
  const question = subdivisions.length
    ? `The rules table (version ${rules.version}) has rules for ${code} per subdivision (${subdivisions.join(', ')}), and these people have none recorded. Which subdivision does each live in? Add their region and run again; until then, ask counsel whether notifying ${whom} is required.`
    : `The rules table (version ${rules.version}) has no rule for ${code}. Does its law require notifying ${whom} of this breach, and by when? Ask counsel, then add rules/jurisdictions/${code}.json.`;
  return { ...noRuleBase(code, persons, question), reason: `no rule for ${code} in the rules table` };
}

function noRuleBase(code: string, persons: AffectedPerson[], question: string): ObligationLine {
  return {
    jurisdiction: code,
    required: 'assess',
    deadline: null,
    basis: `no rule for ${code} — assess: ${question}`,
    affected: persons.length,
    law: '',
    cite: '',
    quote: '',
    reason: '',
    question,
    deadlineRule: '',
    rulesVersion: null,
    ...counts(persons),
  };
}

function recordLine(rule: JurisdictionRule, incident: ObligationsIncident): RecordLine {
  const r = rule.records!;
  let keepUntil: string | null = null;
  if (r.retentionMonths) {
    const [y, m, d] = localDate(new Date(incident.awareAt), rule.timezone).split('-').map(Number) as [number, number, number];
    keepUntil = utcTime(new Date(Date.UTC(y, m - 1 + r.retentionMonths, d))).slice(0, 10);
  }
  return {
    jurisdiction: rule.jurisdiction,
    required: 'yes',
    basis: `${r.cite}: "${r.quote}"${keepUntil ? ` — keep the record until at least ${keepUntil}` : ''} [${rule.law.short}; rules ${rule.jurisdiction} ${rule.version}]`,
    keepUntil,
  };
}
