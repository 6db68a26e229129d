/**
 * `entity` (the company's legal entity holding an account) is a clear customer attribute; imports
 * before it was sealed it as PII. The notice path must read it, or a notice would come from the
 * entity of the customer's country instead of their own. Only the broker opens a sealed field, so
 * the move is here: the number of customers to move is recorded in the ledger first, as one
 * `update` of the customers directory by Custos itself, then each value is opened and written to
 * the clear column, its sealed copy dropped.
 */
import type { RequestContext } from './decision-log.ts';
import { DecisionLog } from './decision-log.ts';
import type { Recorder } from './recorder.ts';
import { checkId } from '../model.ts';
import type { Store } from '../store/store.ts';
import type { Vault } from '../vault/index.ts';
import { openerFor } from '../vault/decrypt.ts';

const PAGE = 500;
/** Who acts when Custos moves its own data: recorded, not decided. */
const SYSTEM_ACTOR = 'custos';

export interface ClearEntityDeps {
  store: Store;
  vault: Vault;
  recorder: Recorder;
  now: () => Date;
}

/** Move every sealed `entity` to the clear column; returns how many customers moved (0 at once when none holds one). */
export async function clearSealedEntities(deps: ClearEntityDeps, ctx: RequestContext): Promise<number> {
  const first = await deps.store.customers.withSealedEntityAfter('', 1);
  if (first.length === 0) return 0;
  await new DecisionLog(deps.recorder, deps.now).enforce({
    actor: SYSTEM_ACTOR,
    action: 'update',
    operation: 'update',
    customers: [],
    fields: [],
    target: { type: 'directory', id: 'customers' },
    details: { reason: 'entity is a clear attribute: sealed copies moved to clear' },
  }, { decision: 'allow', policies: [] }, ctx);
  const opener = openerFor(deps.vault, { dataKeyCacheSize: 0 });
  let moved = 0;
  for (let after = ''; ; ) {
    const page = await deps.store.customers.withSealedEntityAfter(after, PAGE);
    for (const c of page) {
      const entity = opener.open(c, ['entity']).entity!.trim();
      // A value that is no entity id stays sealed: the notice path refuses such a record by name.
      try {
        checkId(entity, 'entity');
      } catch {
        continue;
      }
      if (await deps.store.customers.moveEntityToClear(c.id, entity, c.updatedAt, deps.now())) moved++;
    }
    if (page.length < PAGE) break;
    after = page[page.length - 1]!.id;
  }
  return moved;
}
