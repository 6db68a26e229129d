/**
 * The analysts' desk: detection's alerts, read and moved through their states. Every request is
 * a Cedar `triage` decision, recorded in the ledger before anything is returned or changed, so
 * each analyst action is itself an access event. The view is pseudonymised: an alert names its
 * subject by a stable alias; who the alias is comes only from `unmask`, itself a recorded read.
 */
import { ConflictError, ForbiddenError, NotFoundError } from '../errors.ts';
import type { AttributeChange, Employee, RecordedEvent } from '../model.ts';
import type { AlertState } from '../detect/alert.ts';
import type { TriageOperation } from '../policy/index.ts';
import type { AlertFilter, AlertStateChange, RiskPoint, StoredAlert } from '../store/alerts.ts';
import { ActLog, type Act, type ActDetails, type ActLogDeps, type Actor } from './acts.ts';
import type { RequestContext } from './decision-log.ts';
import type { Page } from './manage.ts';

/** An alert as analysts see it: `employee` is the subject's alias, never the id. */
export interface AlertView {
  id: string;
  employee: string;
  score: number;
  severity: StoredAlert['severity'];
  state: AlertState;
  detectedAt: string;
  firstEventAt: string;
  updatedAt: string;
  detectors: StoredAlert['detectors'];
  explanation: string;
  /** Ledger index of the event at which it was last raised or updated. */
  seq?: number;
  /** State changes, oldest first (on a single alert). */
  history?: AlertStateChange[];
}

export interface RiskHistory {
  /** As asked: the alias, or the employee id. */
  employee: string;
  points: RiskPoint[];
  /** Pass as `after` for the next page; absent on the last. */
  next?: string;
}

export interface Subject {
  alert: string;
  alias: string;
  employee: Pick<Employee, 'id' | 'name' | 'team' | 'role' | 'location'>;
}

export type AlertMove = 'acknowledge' | 'dismiss' | 'escalate';

const MOVES: Record<AlertMove, { to: AlertState; from: readonly AlertState[] }> = {
  acknowledge: { to: 'acknowledged', from: ['open'] },
  dismiss: { to: 'dismissed', from: ['open', 'acknowledged'] },
  escalate: { to: 'escalated', from: ['open', 'acknowledged'] },
};

const ALERT_LIST = { type: 'directory', id: 'alerts' } as const;

export class AlertDesk {
  private readonly acts: ActLog;

  constructor(private readonly deps: ActLogDeps) {
    this.acts = new ActLog(deps);
  }

  /** A page of alerts, newest first; never those about the asker. */
  async list(actorId: string, filter: Omit<AlertFilter, 'alias' | 'notEmployee'> & { employee?: string }, ctx: RequestContext): Promise<Page<AlertView>> {
    const { employee, ...rest } = filter;
    const details: ActDetails = { limit: filter.limit };
    for (const key of ['state', 'severity', 'employee', 'from', 'to', 'after'] as const) if (filter[key] !== undefined) details[key] = filter[key];
    const act = triageAct('list', { type: 'Directory', id: 'alerts' }, 'view', 'read', ALERT_LIST, details);
    await this.acts.authorize(asEmployee(actorId), act, ctx);
    const rows = await this.deps.store.alerts.list({ ...rest, ...(employee !== undefined ? { alias: employee } : {}), notEmployee: actorId, limit: filter.limit + 1 });
    const items = rows.slice(0, filter.limit);
    await this.acts.recordOutcome(asEmployee(actorId), act, { returned: items.length }, ctx);
    return { items: items.map((a) => viewOf(a)), ...(rows.length > filter.limit ? { next: items.at(-1)!.id } : {}) };
  }

  async get(actorId: string, id: string, ctx: RequestContext): Promise<AlertView> {
    const alert = await this.recordedAlertAct(actorId, id, 'view', 'view', 'view', ctx);
    return viewOf(alert, await this.deps.store.alerts.stateChanges(id));
  }

  /** Acknowledge, dismiss (with a reason) or escalate an alert; recorded with its state before → after. */
  async move(actorId: string, id: string, move: AlertMove, reason: string | undefined, ctx: RequestContext): Promise<AlertView> {
    const { to, from } = MOVES[move];
    const alert = await this.deps.store.alerts.get(id);
    const change: Record<string, AttributeChange> = { state: { before: alert?.state ?? null, after: to } };
    const refusal = !alert
      ? new NotFoundError(`no alert "${id}"`)
      : !from.includes(alert.state)
        ? new ConflictError(`alert "${id}" is ${alert.state}; only an alert that is ${from.join(' or ')} can be ${to}`)
        : undefined;
    const act: Act = {
      ...triageAct(move, alertResource(id, alert), 'update', 'update', { type: 'alert', id }, reason !== undefined ? { reason } : undefined),
      change,
    };
    const recorded = await this.authorizeOnAlert(actorId, id, alert, act, ctx, refusal);
    const at = this.deps.now().toISOString();
    const moved = await this.deps.store.alerts.changeState(id, alert!.state, { at, from: alert!.state, to, actor: actorId, ...(reason !== undefined ? { reason } : {}), seq: recorded.seq });
    if (!moved) {
      // Another analyst moved it between our read and our write: say so in the ledger too.
      await this.acts.recordOutcome(asEmployee(actorId), act, { result: 'conflict' }, ctx);
      throw new ConflictError(`alert "${id}" changed meanwhile; read it again`);
    }
    return this.viewAfterMove(id);
  }

  /** Who an alert is about: the real identity behind the alias, as a recorded read. */
  async unmask(actorId: string, id: string, ctx: RequestContext): Promise<Subject> {
    const alert = await this.recordedAlertAct(actorId, id, 'unmask', 'view', 'read', ctx);
    const employee = await this.deps.store.employees.get(alert.employee);
    return {
      alert: id,
      alias: alert.alias,
      employee: employee
        ? { id: employee.id, name: employee.name, team: employee.team, role: employee.role, location: employee.location }
        : { id: alert.employee, name: '(no employee record)', team: '', role: '', location: '' },
    };
  }

  /** An employee's risk scores with the detectors behind each; `employee` is an alias or an id. */
  async risk(actorId: string, employee: string, page: { after?: string; limit: number }, ctx: RequestContext): Promise<RiskHistory> {
    const id = (await this.deps.store.alerts.employeeOfAlias(employee)) ?? employee;
    const record = await this.deps.store.employees.get(id);
    const details: ActDetails = { limit: page.limit, ...(page.after !== undefined ? { after: page.after } : {}), ...(id !== employee ? { alias: employee } : {}) };
    const act = triageAct('risk', record ? { type: 'Employee', employee: record } : { type: 'Employee', id }, 'view', 'read', { type: 'employee', id }, details);
    await this.acts.authorize(asEmployee(actorId), act, ctx, record ? undefined : new NotFoundError(`no employee "${employee}"`));
    const points = await this.deps.store.alerts.riskHistory(id, { ...page, limit: page.limit + 1 });
    const shown = points.slice(0, page.limit);
    return { employee, points: shown, ...(points.length > page.limit ? { next: shown.at(-1)!.at } : {}) };
  }

  /** Decide and record an act on one alert (404 recorded for an id that names none). */
  private async recordedAlertAct(actorId: string, id: string, operation: TriageOperation, action: 'view', recorded: 'view' | 'read', ctx: RequestContext): Promise<StoredAlert> {
    const alert = await this.deps.store.alerts.get(id);
    const act = triageAct(operation, alertResource(id, alert), action, recorded, { type: 'alert', id });
    await this.authorizeOnAlert(actorId, id, alert, act, ctx, alert ? undefined : new NotFoundError(`no alert "${id}"`));
    return alert!;
  }

  /**
   * Decide and record an act on one alert. An alert about the asker is refused as Cedar says
   * (recorded `separation_of_duties`) but answered as a missing one, 404: alert ids can be
   * guessed from one's own events, and the answer must not tell anyone whether they are flagged.
   */
  private async authorizeOnAlert(actorId: string, id: string, alert: StoredAlert | undefined, act: Act, ctx: RequestContext, refusal: NotFoundError | ConflictError | undefined): Promise<RecordedEvent> {
    try {
      return await this.acts.authorize(asEmployee(actorId), act, ctx, refusal);
    } catch (err) {
      if (alert?.employee === actorId && err instanceof ForbiddenError && err.reason === 'separation_of_duties') throw new NotFoundError(`no alert "${id}"`);
      throw err;
    }
  }

  private async viewAfterMove(id: string): Promise<AlertView> {
    const alert = (await this.deps.store.alerts.get(id))!;
    return viewOf(alert, await this.deps.store.alerts.stateChanges(id));
  }
}

function asEmployee(id: string): Actor {
  return { kind: 'employee', id };
}

/** The alert as Cedar sees it; one that does not exist has no subject, so no forbid on subjects applies and the answer is the permit's. */
function alertResource(id: string, alert: StoredAlert | undefined) {
  return { type: 'Alert' as const, alert: { id, subject: alert?.employee ?? '', severity: alert?.severity ?? '', state: alert?.state ?? '' } };
}

function triageAct(
  operation: TriageOperation,
  resource: Extract<Act['request'], { action: 'triage' }>['resource'],
  action: Act['action'],
  recorded: Act['operation'],
  target: Act['target'],
  details?: ActDetails,
): Act {
  return { request: { action: 'triage', operation, resource }, action, target, operation: recorded, ...(details ? { details } : {}) };
}

/**
 * The pseudonymised alert: `employee` is the alias, and the id never appears in the words
 * detection wrote (it names people by alias; this holds even if a detector slips).
 */
function viewOf(a: StoredAlert, history?: AlertStateChange[]): AlertView {
  const hide = (text: string) => text.split(a.employee).join(a.alias);
  return {
    id: a.id,
    employee: a.alias,
    score: a.score,
    severity: a.severity,
    state: a.state,
    detectedAt: a.detectedAt,
    firstEventAt: a.firstEventAt,
    updatedAt: a.updatedAt,
    detectors: a.detectors.map((d) => ({ ...d, evidence: { ...d.evidence, summary: hide(d.evidence.summary) } })),
    explanation: hide(a.explanation),
    ...(a.seq !== undefined ? { seq: a.seq } : {}),
    ...(history ? { history } : {}),
  };
}
