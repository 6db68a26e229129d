/**
 * Random GCM IVs, drawn from a pooled buffer of CSPRNG output: one randomFillSync call per
 * 4 KiB instead of one per IV (the call dominated sealing during import). Every byte is handed
 * out once, then the pool is refilled. Only IVs come from here, which are public (stored beside
 * the ciphertext); data keys are drawn directly, so no future key ever waits in this buffer.
 */
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let offset = POOL_BYTES;

/** Fill `target` (an IV slot, at most the pool size) with fresh random bytes; returns it. */
export function fillRandomIv(target: Buffer): Buffer {
  if (target.length > POOL_BYTES) return randomFillSync(target);
  if (offset + target.length > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  pool.copy(target, 0, offset, offset + target.length);
  // Wipe what was handed out, so the same bytes can never be handed out twice.
  pool.fill(0, offset, offset + target.length);
  offset += target.length;
  return target;
}
