/**
 * Reading the ledger, recorded like any access. Raw entries name actors and customers, so
 * they are for roles Cedar's `read_ledger` allows; proofs carry hashes only (`prove_ledger`).
 * Every read — allowed or denied — is an entry of the ledger itself, written before anything
 * is read.
 */
import { consistencyProof, inclusionProof, type ConsistencyProof, type InclusionProof, type StoredEntry } from '../ledger/index.ts';
import { ActLog, type Act, type Actor, type ActLogDeps } from './acts.ts';
import type { RequestContext } from './decision-log.ts';

const LEDGER_TARGET = { type: 'ledger', id: 'ledger' } as const;

export class LedgerAccess {
  private readonly acts: ActLog;

  constructor(private readonly deps: ActLogDeps) {
    this.acts = new ActLog(deps);
  }

  /** Entries [from, to), once the read is allowed and recorded. `export` is the CLI's whole-log export. */
  async entries(actor: Actor, range: { from: number; to: number }, operation: 'read' | 'export', ctx: RequestContext): Promise<AsyncIterable<StoredEntry>> {
    await this.acts.authorize(actor, ledgerRead('read_ledger', operation, { from: range.from, to: range.to }), ctx);
    return this.deps.store.ledger.readEntries(range.from, range.to);
  }

  async inclusionProof(actor: Actor, index: number, size: number, ctx: RequestContext): Promise<InclusionProof> {
    await this.acts.authorize(actor, ledgerRead('prove_ledger', 'read', { proof: 'inclusion', index, size }), ctx);
    return inclusionProof(this.deps.store.ledger, index, size);
  }

  async consistencyProof(actor: Actor, from: number, to: number, ctx: RequestContext): Promise<ConsistencyProof> {
    await this.acts.authorize(actor, ledgerRead('prove_ledger', 'read', { proof: 'consistency', from, to }), ctx);
    return consistencyProof(this.deps.store.ledger, from, to);
  }
}

function ledgerRead(action: 'read_ledger' | 'prove_ledger', operation: 'read' | 'export', details: Act['details']): Act {
  return { request: { action, resource: { type: 'Ledger' } }, action: 'export', target: LEDGER_TARGET, operation, ...(details ? { details } : {}) };
}
