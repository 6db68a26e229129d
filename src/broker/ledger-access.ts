/** Who may read raw ledger entries (they name actors and customers): Cedar's `read_ledger`. */
import type { PolicyEngine } from '../policy/index.ts';
import type { Store } from '../store/store.ts';
import { denied } from './decision-log.ts';

export async function ledgerReadAllowed(custos: { store: Store; policy: PolicyEngine; now: () => Date }, actorId: string): Promise<void> {
  const actor = await custos.store.employees.get(actorId);
  const decision = custos.policy.decide({ action: 'read_ledger', actor, resource: { type: 'Ledger' }, now: custos.now() });
  if (decision.decision === 'deny') throw denied(decision.reason ?? 'not_permitted');
}
