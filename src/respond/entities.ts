/**
 * The company's legal entities and which one holds each customer's account, so that a notice or
 * an authority report comes from the customer's own controller and names it (a UK account
 * holder hears from the UK entity, not from the Canadian one). One JSON file (config/
 * entities.json, or CUSTOS_ENTITIES): entities, then the account rule — an explicit entity per
 * customer, else one per region or country, else the default.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.ts';
import { jsonValueLine } from './incident-input.ts';

export interface LegalEntity {
  id: string;
  name: string;
  /** ISO 3166-1 alpha-2 country of establishment. */
  country: string;
  address: string;
  dpo: { name: string; email: string; phone?: string };
  /** The supervisory authority that leads for this entity (GDPR Art. 56), or its home regulator. */
  leadAuthority: { jurisdiction: string; name: string };
  /** The From address of its notices, when it has its own. */
  noticeFrom?: string;
}

/** How an account was matched to its entity: what a reviewer checks when a notice looks wrong. */
export type EntityRule = 'customer' | 'account' | 'region' | 'country' | 'default';

export interface EntityChoice {
  entity: LegalEntity;
  rule: EntityRule;
}

/** The customer attributes the choice reads (a CustomerProfile has them; `entity` is optional). */
export interface AccountHolder {
  id: string;
  country: string;
  region?: string | null;
  /** An entity id held on the customer record itself, when the system of record keeps one. */
  entity?: string | null;
}

export interface EntitiesConfig {
  file: string;
  entities: Map<string, LegalEntity>;
  defaultEntity: string;
  /** Customer id → entity id: accounts opened with an entity other than their country's. */
  accounts: Map<string, string>;
  /** Country or ISO 3166-2 region → entity id. */
  byJurisdiction: Map<string, string>;
  entityFor(customer: AccountHolder): EntityChoice;
}

const COUNTRY_RE = /^[A-Z]{2}$/;
const JURISDICTION_RE = /^[A-Z]{2}(-[A-Z0-9]{1,3})?$/;
const EMAIL_RE = /^[^\s@]{1,64}@[^\s@]+\.[^\s@]+$/;

/** Reads and checks the file (the configured one is CustosConfig.entitiesFile: CUSTOS_ENTITIES or config/entities.json). */
export function loadEntities(file: string): EntitiesConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`entities: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`entities: ${file} is not valid JSON: ${(err as Error).message}`);
  }
  return parseEntities(raw, file, text);
}

/** Checks an entities configuration; errors name the file, the line when known, and the field. */
export function parseEntities(raw: unknown, file: string, text?: string): EntitiesConfig {
  const fail = (path: Array<string | number>, message: string): never => {
    let line: number | undefined;
    for (let n = path.length; n >= 0 && text !== undefined && line === undefined; n--) line = jsonValueLine(text, path.slice(0, n));
    const name = path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
    throw new ConfigError(`entities: ${file}${line !== undefined ? `:${line}` : ''}: ${name || 'file'} ${message}`);
  };
  const obj = (v: unknown, path: Array<string | number>): Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : fail(path, 'must be a JSON object');
  const str = (o: Record<string, unknown>, key: string, path: Array<string | number>): string =>
    typeof o[key] === 'string' && (o[key] as string).trim() !== '' ? (o[key] as string) : fail([...path, key], 'is required (a non-empty string)');

  const o = obj(raw, []);
  if (!Array.isArray(o.entities) || o.entities.length === 0) fail(['entities'], 'must be a non-empty array of legal entities');
  const entities = new Map<string, LegalEntity>();
  (o.entities as unknown[]).forEach((e, i) => {
    const path = ['entities', i];
    const r = obj(e, path);
    const id = str(r, 'id', path);
    if (entities.has(id)) fail([...path, 'id'], `"${id}" is used twice`);
    const country = str(r, 'country', path);
    if (!COUNTRY_RE.test(country)) fail([...path, 'country'], 'must be an ISO 3166-1 alpha-2 code such as "IE"');
    const dpo = obj(r.dpo, [...path, 'dpo']);
    const email = str(dpo, 'email', [...path, 'dpo']);
    if (!EMAIL_RE.test(email)) fail([...path, 'dpo', 'email'], 'must be an e-mail address');
    const lead = obj(r.leadAuthority, [...path, 'leadAuthority']);
    const leadJurisdiction = str(lead, 'jurisdiction', [...path, 'leadAuthority']);
    if (!JURISDICTION_RE.test(leadJurisdiction)) fail([...path, 'leadAuthority', 'jurisdiction'], 'must be an ISO 3166-1 or 3166-2 code');
    const noticeFrom = r.noticeFrom === undefined ? undefined : str(r, 'noticeFrom', path);
    if (noticeFrom !== undefined && !EMAIL_RE.test(noticeFrom)) fail([...path, 'noticeFrom'], 'must be an e-mail address');
    entities.set(id, {
      id,
      name: str(r, 'name', path),
      country,
      address: str(r, 'address', path),
      dpo: { name: str(dpo, 'name', [...path, 'dpo']), email, ...(typeof dpo.phone === 'string' ? { phone: dpo.phone } : {}) },
      leadAuthority: { jurisdiction: leadJurisdiction, name: str(lead, 'name', [...path, 'leadAuthority']) },
      ...(noticeFrom ? { noticeFrom } : {}),
    });
  });
  const known = (id: unknown, path: Array<string | number>): string =>
    typeof id === 'string' && entities.has(id) ? id : fail(path, `names entity "${String(id)}", which is not among entities[].id (${[...entities.keys()].join(', ')})`);
  const defaultEntity = known(o.default, ['default']);
  const byJurisdiction = new Map<string, string>();
  for (const [code, id] of Object.entries(o.byJurisdiction === undefined ? {} : obj(o.byJurisdiction, ['byJurisdiction']))) {
    if (!JURISDICTION_RE.test(code)) fail(['byJurisdiction', code], 'keys must be ISO 3166-1 or 3166-2 codes such as "GB" or "US-CA"');
    byJurisdiction.set(code, known(id, ['byJurisdiction', code]));
  }
  const accounts = new Map<string, string>();
  for (const [customer, id] of Object.entries(o.accounts === undefined ? {} : obj(o.accounts, ['accounts']))) accounts.set(customer, known(id, ['accounts', customer]));

  const config: EntitiesConfig = {
    file,
    entities,
    defaultEntity,
    accounts,
    byJurisdiction,
    entityFor(customer) {
      if (customer.entity) {
        const entity = entities.get(customer.entity);
        // A record naming an entity this configuration does not have is a configuration error, not a silent fallback.
        if (!entity) throw new ConfigError(`entities: customer ${customer.id} names entity "${customer.entity}", which ${file} does not define`);
        return { entity, rule: 'customer' };
      }
      const account = accounts.get(customer.id);
      if (account) return { entity: entities.get(account)!, rule: 'account' };
      const byRegion = customer.region ? byJurisdiction.get(customer.region) : undefined;
      if (byRegion) return { entity: entities.get(byRegion)!, rule: 'region' };
      const byCountry = byJurisdiction.get(customer.country);
      if (byCountry) return { entity: entities.get(byCountry)!, rule: 'country' };
      return { entity: entities.get(defaultEntity)!, rule: 'default' };
    },
  };
  return config;
}

/** The entity holding `customer`'s account (for notices: the controller that speaks and is named). */
export function entityFor(entities: EntitiesConfig, customer: AccountHolder): LegalEntity {
  return entities.entityFor(customer).entity;
}
