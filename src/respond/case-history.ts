/**
 * Whether a stated purpose justified an access at the time it happened: the case it names must
 * exist, be assigned to the actor and be about that customer, and be open, at the event's time
 * (not now: a case closed or reassigned since still justified what happened while it held).
 */
import type { AccessEvent, Purpose } from '../model.ts';
import type { CaseEvent } from '../store/cases.ts';

/** A case's customer and every act of its life, oldest first. */
export interface CaseHistoryRecord {
  customer: string;
  acts: readonly CaseEvent[];
}

/** Why an access had no valid purpose, or undefined when it had one. */
export type Unjustified = 'no_purpose' | 'purpose_not_linked' | 'case_closed';

/** The case's assignee and whether it was open at `atMs`; undefined before it opened. */
export function caseStateAt(history: CaseHistoryRecord, atMs: number): { employee: string; open: boolean } | undefined {
  let state: { employee: string; open: boolean } | undefined;
  for (const act of history.acts) {
    if (Date.parse(act.at) > atMs) break;
    switch (act.operation) {
      case 'open':
        state = { employee: act.employee, open: true };
        break;
      case 'reassign':
        state = { employee: act.employee, open: state?.open ?? true };
        break;
      case 'close':
        state = { employee: act.employee, open: false };
        break;
      case 'reopen':
        state = { employee: act.employee, open: true };
        break;
    }
  }
  return state;
}

/**
 * Why `event`'s access to `customer` had no valid purpose (the reasons Cedar's reveal policies
 * give, judged at the event's time), or undefined. `history` is the case the purpose names,
 * if it exists.
 */
export function unjustifiedAccess(event: AccessEvent, customer: string, history: CaseHistoryRecord | undefined): Unjustified | undefined {
  return unjustifiedAt(event.purpose, event.actor, Date.parse(event.time), customer, history);
}

/** unjustifiedAccess for an access given by its parts: the purpose stated, who, when (ms). */
export function unjustifiedAt(purpose: Purpose | undefined, actor: string, atMs: number, customer: string, history: CaseHistoryRecord | undefined): Unjustified | undefined {
  if (!purpose || purpose.kind !== 'case') return 'no_purpose';
  if (!history || history.customer !== customer) return 'purpose_not_linked';
  const state = caseStateAt(history, atMs);
  if (!state) return 'case_closed';
  if (state.employee !== actor) return 'purpose_not_linked';
  return state.open ? undefined : 'case_closed';
}

/** Where the cases behind purposes are found: the store, or a cases file. */
export interface CaseSource {
  /** The cases among `ids` that exist, with their histories. */
  caseHistories(ids: readonly string[]): Promise<Map<string, CaseHistoryRecord>>;
  /** False when no cases are known at all: then only accesses without a purpose can be called unjustified. */
  readonly knowsCases: boolean;
}

/** The cases events name, looked up in bulk a page at a time and each remembered for the run (state bounded by cases). */
export class PurposeJudge {
  private readonly cases = new Map<string, CaseHistoryRecord | null>();

  constructor(private readonly source: CaseSource) {}

  /** Look up, in one call, the cases these purposes name that are not known yet. */
  async prefetch(purposes: Iterable<Purpose | undefined>): Promise<void> {
    const missing = new Set<string>();
    for (const p of purposes) if (p?.kind === 'case' && !this.cases.has(p.ref)) missing.add(p.ref);
    if (missing.size === 0) return;
    const ids = [...missing];
    const found = await this.source.caseHistories(ids);
    for (const id of ids) this.cases.set(id, found.get(id) ?? null);
  }

  /**
   * Whether an access to `customer` by `actor` at `atMs` under `purpose` lacked a valid purpose
   * (after prefetch). Without any cases known, only an access with no purpose at all counts.
   */
  unjustified(purpose: Purpose | undefined, actor: string, atMs: number, customer: string): boolean {
    const history = purpose?.kind === 'case' ? this.cases.get(purpose.ref) ?? undefined : undefined;
    const why = unjustifiedAt(purpose, actor, atMs, customer, history);
    return why === 'no_purpose' || (why !== undefined && this.source.knowsCases);
  }
}
