/**
 * Every customer write — import, the API's create and replace, the demo seed — seals through
 * the vault and stores through the rotation fence: the store refuses data keys not wrapped under
 * its current KEK (store/key-ring-identity.ts). A refusal means a rotation elsewhere moved the
 * store on since this process read its key file: read it again, seal again, once.
 */
import { ConflictError } from '../errors.ts';
import type { CustomerInput } from '../model.ts';
import { isKekFenceRefusal, KEK_FENCE } from '../store/key-ring-identity.ts';
import type { Store } from '../store/store.ts';
import type { SealedCustomerRecord, Vault } from '../vault/index.ts';

export async function storeCustomers(store: Store, vault: Vault, inputs: CustomerInput[], now: Date): Promise<SealedCustomerRecord[]> {
  for (let attempt = 1; ; attempt++) {
    const sealed = inputs.map((input) => vault.sealCustomer(input));
    try {
      await store.customers.upsertMany(sealed, now);
      return sealed;
    } catch (err) {
      if (!isKekFenceRefusal(err)) throw err;
      if (attempt === 1) {
        vault.reload();
        continue;
      }
      throw new ConflictError(
        `the store's current KEK is ${String(err.details.currentKekId)}, but key ring ${vault.ringId} (${vault.source}) still has ${vault.currentKekId} as current after reloading it; ` +
          'is this process reading the key file the rotation wrote?',
        { reason: KEK_FENCE, currentKekId: err.details.currentKekId, ringKekId: vault.currentKekId },
      );
    }
  }
}
