/**
 * Decisions. The policy set is parsed, validated and preparsed into cedar-wasm once at
 * start; each decision builds the few entities it needs and asks `statefulIsAuthorized`.
 * Cedar has the final word: this file only maps its answer to a DenyReason, by the
 * `@reason` of the forbids that applied.
 */
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import {
  preparsePolicySet,
  statefulIsAuthorized,
  type AuthorizationAnswer,
  type Context,
  type EntityJson,
  type EntityUidJson,
} from '@cedar-policy/cedar-wasm/nodejs';
import { ConfigError, type DenyReason } from '../errors.ts';
import type { CaseRecord, CustomerProfile, Employee, Purpose } from '../model.ts';
import {
  alertEntity,
  type AlertFacts,
  caseEntity,
  caseInfo,
  customerEntity,
  DIRECTORY_UID,
  employeeEntity,
  LEDGER_UID,
  unknownActorEntity,
} from './entities.ts';
import { POLICY_ACTIONS, readPolicyDir, type LoadedPolicy, type PolicyAction } from './load.ts';
import { mostImportantReason } from './reasons.ts';
import type { Budget, RoleSpec } from './roles.ts';

// Node 20's V8 inlines JS→Wasm calls into optimized code. Under sustained cedar-wasm load,
// deoptimizing such a frame killed `custos serve` with "Fatal error … unreachable code" in
// Deoptimizer::DoComputeBuiltinContinuation. Without the inlining the call costs a few
// nanoseconds more, against ~80 µs per decision. Set before any decision is compiled.
setFlagsFromString('--no-turbo-inline-js-wasm-calls');

/** The default policy directory shipped with Custos (`policies/` at the repository root). */
export const DEFAULT_POLICY_DIR = fileURLToPath(new URL('../../policies/', import.meta.url));

export interface PolicyDecision {
  decision: 'allow' | 'deny';
  /** Why, on a deny. */
  reason?: DenyReason;
  /** Ids of the policies that determined the decision: the permits on allow, the forbids that applied on deny. */
  policies: string[];
  /** Policies that failed to evaluate (`id: message`); any such failure turns an allow into a deny. */
  errors?: string[];
}

export interface RevealRequest {
  /** The employee asking, or undefined when no employee record exists for them. */
  actor: Employee | undefined;
  /** The customer; its id alone when no record exists (a policy reading its attributes then fails, and so denies). */
  customer: CustomerProfile | { id: string };
  /** The case `purpose.ref` names, when the purpose is a case and the case exists. */
  case?: CaseRecord;
  purpose?: Purpose;
  fields: readonly string[];
  now: Date;
}

/** A record as the resource of view or manage; the id alone when there is no record yet (create). */
export type RecordResource =
  | { type: 'Customer'; customer: CustomerProfile }
  | { type: 'Employee'; employee: Employee }
  | { type: 'Case'; case: CaseRecord }
  | { type: 'Customer' | 'Employee' | 'Case'; id: string };

/** What `manage` can do to a record (context.operation). */
export const MANAGE_OPERATIONS = ['create', 'replace', 'suspend', 'reinstate', 'reassign', 'close', 'reopen', 'delete'] as const;
export type ManageOperation = (typeof MANAGE_OPERATIONS)[number];

/** A list of records as the resource of view: Directory::"employees" or Directory::"cases". */
export type RecordList = { type: 'Directory'; id: 'employees' | 'cases' };

/** What a manage request would change, as policies see it in its context. */
export interface ManageChange {
  /** Names of the attributes it changes (context.changes); never their values. */
  changes: readonly string[];
  /** For a case: its assignee once the operation is done (context.assignee). */
  assignee?: string;
}

/** Any decision but a reveal. */
export type DecideRequest = { actor: Employee | undefined; now: Date } & (
  | { action: 'view'; resource: RecordResource | RecordList }
  | { action: 'search'; resource: { type: 'Directory' } }
  | ({ action: 'manage'; operation: ManageOperation; resource: RecordResource } & ManageChange)
  | { action: 'read_ledger'; resource: { type: 'Ledger' } }
  | { action: 'import'; resource: { type: 'Directory' } }
  | { action: 'ingest'; resource: { type: 'Directory'; id: 'events' } }
  | { action: 'issue_token'; resource: { type: 'Employee'; employee: Employee } }
  | { action: 'rotate_key'; resource: { type: 'Key'; id: KeyName } }
  | { action: 'prove_ledger'; resource: { type: 'Ledger' } }
  | { action: 'investigate'; resource: { type: 'Employee'; id: string } | RecordList }
  | { action: 'respond'; operation: IncidentOperation; resource: { type: 'Incident'; id: string }; subject?: string }
  | { action: 'notify'; resource: { type: 'Customer'; customer: CustomerProfile } }
  | { action: 'triage'; operation: TriageOperation; resource: AlertResource | { type: 'Directory'; id: 'alerts' } | { type: 'Employee'; employee: Employee } | { type: 'Employee'; id: string } }
);

/** What `triage` does (context.operation): read alerts and risk, move an alert, unmask its subject. */
export const TRIAGE_OPERATIONS = ['list', 'view', 'risk', 'acknowledge', 'dismiss', 'escalate', 'unmask'] as const;
export type TriageOperation = (typeof TRIAGE_OPERATIONS)[number];

/** An alert as the resource of triage: its subject (the employee id), severity and state. */
export type AlertResource = { type: 'Alert'; alert: AlertFacts };

/**
 * The notices of an incident (`custos notify`, /v1/incidents/:id/notices): queue them, send
 * them, see the outbox, preview one, record the bounces reported. By default privacy officers'
 * alone (respond.cedar).
 */
export const NOTICE_OPERATIONS = ['queue_notices', 'send_notices', 'notice_status', 'render_notice', 'record_bounces'] as const;
export type NoticeOperation = (typeof NOTICE_OPERATIONS)[number];

/** What `respond` does to an incident (context.operation). */
export const INCIDENT_OPERATIONS = ['open', 'view', 'transition', 'contain', 'export', 'note', ...NOTICE_OPERATIONS] as const;
export type IncidentOperation = (typeof INCIDENT_OPERATIONS)[number];

/** The keys an operator rotates: Key::"kek" and Key::"signing". */
export type KeyName = 'kek' | 'signing';

/** The part of the policy set that can apply to one action, preparsed under `id`. */
interface ActionPolicies {
  action: PolicyAction;
  id: string;
  uid: EntityUidJson;
  /** Entity attributes some policy of this set reads; the others are not sent. */
  keep: ReadonlySet<string>;
  /** Forbid policy id → the reason it reports. */
  reasons: ReadonlyMap<string, DenyReason>;
}

const NO_BUDGET: Budget = Object.freeze({ perHour: 0, perDay: 0 });
const NO_FIELDS: readonly string[] = Object.freeze([]);
const EMPTY_CONTEXT: Context = Object.freeze({}) as Context;

export interface LoadOptions {
  /** Directory holding custos.cedarschema, roles.json and *.cedar; defaults to DEFAULT_POLICY_DIR. */
  dir?: string;
  /** Cedar answers to remember (DecisionCache); 0 asks Cedar every time. Default 10,000. */
  cacheSize?: number;
}

export const DEFAULT_DECISION_CACHE_SIZE = 10_000;

/** Load, validate and preparse a policy directory. Throws ConfigError naming the file at fault. */
export function loadPolicyEngine(options: LoadOptions = {}): PolicyEngine {
  return new PolicyEngine(options.dir ?? DEFAULT_POLICY_DIR, options.cacheSize ?? DEFAULT_DECISION_CACHE_SIZE);
}

export interface DecisionCacheStats {
  hits: number;
  misses: number;
  size: number;
  capacity: number;
}

/**
 * Cedar's answers, remembered by everything Cedar is asked: the preparsed policy set, the
 * principal, action, resource, context and entities, serialized whole into the key. Cedar is a
 * pure function of exactly these (time-dependent facts such as "active" or "open" are computed
 * before the request is built, so they are part of the key), so a hit is the answer Cedar would
 * give again. A cedar-wasm call costs ~80 µs, most of it moving the request across the
 * JS/wasm boundary; the key costs a few µs.
 *
 * Nearly least recently used answers leave first: a hit moves its answer to the back of the
 * line only once it has drifted into the older half (more than half the capacity of answers
 * stored or moved since it last moved), so a busy server does not delete and re-insert a long
 * key on every hit. An answer used again within half a capacity of arrivals is kept; one used
 * only while in the newer half may leave before one used less recently.
 */
class DecisionCache {
  private readonly answers = new Map<string, { decision: PolicyDecision; stamp: number }>();
  /** Answers stored or moved so far: each one's stamp is the count when it was. */
  private stamps = 0;
  hits = 0;
  misses = 0;

  constructor(readonly capacity: number) {}

  get(key: string): PolicyDecision | undefined {
    const found = this.answers.get(key);
    if (!found) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    if (this.stamps - found.stamp > this.capacity / 2) {
      // Re-inserting moves the key to the end of the Map's order: the most recently used.
      this.answers.delete(key);
      found.stamp = this.stamps++;
      this.answers.set(key, found);
    }
    return found.decision;
  }

  set(key: string, decision: PolicyDecision): void {
    if (this.capacity === 0) return;
    if (this.answers.size >= this.capacity) this.answers.delete(this.answers.keys().next().value as string);
    this.answers.set(key, { decision, stamp: this.stamps++ });
  }

  get size(): number {
    return this.answers.size;
  }
}

export class PolicyEngine {
  private readonly byAction: Record<PolicyAction, ActionPolicies>;
  private readonly roleTable: ReadonlyMap<string, RoleSpec>;
  private readonly loaded: readonly LoadedPolicy[];
  /** Validator warnings from load; they did not stop start-up. */
  readonly warnings: readonly string[];
  private readonly cache: DecisionCache;

  constructor(
    readonly dir: string,
    cacheSize: number = DEFAULT_DECISION_CACHE_SIZE,
  ) {
    this.cache = new DecisionCache(cacheSize);
    const { policies, roles, warnings } = readPolicyDir(dir);
    this.loaded = policies;
    this.roleTable = roles;
    this.warnings = warnings;
    const byAction: Partial<Record<PolicyAction, ActionPolicies>> = {};
    for (const action of POLICY_ACTIONS) byAction[action] = preparse(action, policies);
    this.byAction = byAction as Record<PolicyAction, ActionPolicies>;
  }

  /** May `actor` see `fields` of `customer` in clear, for `purpose`? */
  decideReveal(req: RevealRequest): PolicyDecision {
    const set = this.byAction.reveal;
    const principal = this.principal(req.actor, req.now, set.keep);
    // fields/purpose are passed as given: Cedar, not this code, judges them.
    const context: Context = { fields: req.fields as string[] };
    if (req.purpose) context.purpose = { kind: req.purpose.kind, ref: req.purpose.ref };
    if (req.case) context.case = caseInfo(req.case, req.now);
    const entities = 'canary' in req.customer ? [principal, customerEntity(req.customer, set.keep)] : [principal];
    return this.ask(set, principal, { type: 'Customer', id: req.customer.id }, context, entities);
  }

  /** Every action but reveal. */
  decide(req: DecideRequest): PolicyDecision {
    const set = this.byAction[req.action];
    const principal = this.principal(req.actor, req.now, set.keep);
    const entities: EntityJson[] = [principal];
    let resource: EntityUidJson;
    const r = req.resource;
    if (r.type === 'Ledger') resource = LEDGER_UID;
    else if (r.type === 'Directory') resource = 'id' in r ? { type: 'Directory', id: r.id } : DIRECTORY_UID;
    else if (r.type === 'Incident') resource = { type: 'Incident', id: r.id };
    else if (r.type === 'Alert') {
      const entity = alertEntity(r.alert, set.keep);
      resource = entity.uid;
      entities.push(entity);
    }
    else if ('id' in r) {
      // No record (yet): the uid alone; a policy reading its attributes fails, and so denies.
      resource = { type: r.type, id: r.id };
    } else {
      const entity = recordEntity(r, req.now, set.keep, (e) => this.allowedFields(e.role));
      resource = entity.uid;
      // An employee managing their own record: Cedar rejects the same entity twice.
      if (!sameUid(resource, principal.uid)) entities.push(entity);
    }
    const context: Context = req.action === 'manage' ? manageContext(req.operation, req) : req.action === 'respond' ? respondContext(req.operation, req.subject) : req.action === 'triage' ? { operation: req.operation } : EMPTY_CONTEXT;
    return this.ask(set, principal, resource, context, entities);
  }

  /** Fields `role` may reveal (roles.json); none for a role the file does not define. */
  allowedFields(role: string): readonly string[] {
    return this.roleTable.get(role)?.fields ?? NO_FIELDS;
  }

  /** Reveals per actor of `role` per rolling hour and day (roles.json); zero for an undefined role. */
  budgetFor(role: string): Budget {
    return this.roleTable.get(role)?.budget ?? NO_BUDGET;
  }

  /** Blind-index searches per actor of `role` per rolling hour and day (roles.json); zero for an undefined role. */
  searchBudgetFor(role: string): Budget {
    return this.roleTable.get(role)?.searchBudget ?? NO_BUDGET;
  }

  roles(): RoleSpec[] {
    return [...this.roleTable.values()];
  }

  /** Every loaded policy with its file and line, in load order. */
  policies(): readonly LoadedPolicy[] {
    return this.loaded;
  }

  private principal(actor: Employee | undefined, now: Date, keep: ReadonlySet<string>): EntityJson {
    return actor ? employeeEntity(actor, now, this.allowedFields(actor.role), keep) : unknownActorEntity(keep);
  }

  /** How the decision cache is doing (hits are answers Cedar was not asked for again). */
  cacheStats(): DecisionCacheStats {
    return { hits: this.cache.hits, misses: this.cache.misses, size: this.cache.size, capacity: this.cache.capacity };
  }

  private ask(set: ActionPolicies, principal: EntityJson, resource: EntityUidJson, context: Context, entities: EntityJson[]): PolicyDecision {
    const call = { principal: principal.uid, action: set.uid, resource, context, entities, preparsedPolicySetId: set.id };
    if (this.cache.capacity === 0) return interpret(statefulIsAuthorized(call), set);
    const key = JSON.stringify(call);
    let decision = this.cache.get(key);
    if (!decision) {
      decision = frozen(interpret(statefulIsAuthorized(call), set));
      this.cache.set(key, decision);
    }
    return decision;
  }
}

/** A remembered decision is shared by every later caller: none of them may change it. */
function frozen(d: PolicyDecision): PolicyDecision {
  Object.freeze(d.policies);
  if (d.errors) Object.freeze(d.errors);
  return Object.freeze(d);
}

function interpret(answer: AuthorizationAnswer, set: ActionPolicies): PolicyDecision {
  if (answer.type === 'failure') {
    // Entities and context are built here from typed records, so this is a bug, not a deny.
    throw new Error(`cedar could not evaluate a ${set.action} request: ${answer.errors.map((e) => e.message).join('; ')}`);
  }
  const { decision, diagnostics } = answer.response;
  // Cedar reports the determining policies in no fixed order; sorted, equal answers compare equal.
  const policies = [...diagnostics.reason].sort();
  const errors = diagnostics.errors.length > 0 ? diagnostics.errors.map((e) => `${e.policyId}: ${e.error.message}`) : undefined;
  if (decision === 'allow') {
    // A forbid that errored was skipped by Cedar and might have applied: fail closed.
    if (errors) return { decision: 'deny', reason: 'not_permitted', policies: [], errors };
    return { decision: 'allow', policies };
  }
  const reasons: DenyReason[] = [];
  for (const id of policies) {
    const r = set.reasons.get(id);
    if (r) reasons.push(r);
  }
  return { decision: 'deny', reason: mostImportantReason(reasons), policies, ...(errors ? { errors } : {}) };
}

function preparse(action: PolicyAction, all: readonly LoadedPolicy[]): ActionPolicies {
  // A policy whose scope excludes the action can never apply to it; leaving it out saves
  // ~1 µs per policy per decision.
  const policies = all.filter((p) => p.actions.includes(action));
  const staticPolicies = Object.fromEntries(policies.map((p) => [p.id, p.text]));
  // Named by content: cedar-wasm keeps preparsed sets for the life of the process, so an
  // identical reload reuses its set instead of adding one.
  const id = `custos/${action}/${createHash('sha256').update(JSON.stringify(staticPolicies)).digest('hex').slice(0, 32)}`;
  const answer = preparsePolicySet(id, { staticPolicies });
  if (answer.type === 'failure') throw new ConfigError(`policies for ${action} could not be prepared: ${answer.errors.map((e) => e.message).join('; ')}`);
  const keep = new Set<string>();
  const reasons = new Map<string, DenyReason>();
  for (const p of policies) {
    for (const a of p.attributes) keep.add(a);
    if (p.reason) reasons.set(p.id, p.reason);
  }
  return { action, id, uid: Object.freeze({ type: 'Action', id: action }), keep, reasons };
}

function respondContext(operation: IncidentOperation, subject: string | undefined): Context {
  return subject !== undefined ? { operation, subject } : { operation };
}

function manageContext(operation: ManageOperation, change: ManageChange): Context {
  // Sorted: equal requests make equal cache keys whatever order the changes were found in.
  const context: Context = { operation, changes: [...change.changes].sort() };
  if (change.assignee !== undefined) context.assignee = change.assignee;
  return context;
}

function recordEntity(
  r: Exclude<RecordResource, { id: string }>,
  now: Date,
  keep: ReadonlySet<string>,
  fieldsOf: (e: Employee) => readonly string[],
): EntityJson {
  if ('customer' in r) return customerEntity(r.customer, keep);
  if ('employee' in r) return employeeEntity(r.employee, now, fieldsOf(r.employee), keep);
  return caseEntity(r.case, now, keep);
}

function sameUid(a: EntityUidJson, b: EntityUidJson): boolean {
  const x = '__entity' in a ? a.__entity : a;
  const y = '__entity' in b ? b.__entity : b;
  return x.type === y.type && x.id === y.id;
}
