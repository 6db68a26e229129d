/**
 * Ledger entries of realistic shape and size: the canonical bytes the broker records for an
 * access event (eventEntryBytes), mostly allowed reveals with a case purpose, some denials.
 * A million of them are packed into one buffer: an array of a million small Buffers would
 * cost the benchmark more memory than the ledger it measures.
 */
import { randomUUID } from 'node:crypto';
import { eventEntryBytes } from '../src/broker/ledger-recorder.ts';
import type { AccessEvent } from '../src/model.ts';
import { seededRandom } from '../src/simulate/demo-org.ts';

export class PackedEntries {
  constructor(
    private readonly bytes: Buffer,
    /** Entry i is bytes[offsets[i], offsets[i + 1]). */
    private readonly offsets: Uint32Array,
  ) {}

  get length(): number {
    return this.offsets.length - 1;
  }

  /** Total entry bytes. */
  get byteLength(): number {
    return this.offsets[this.length] as number;
  }

  /** A view of entry `i`, no copy. */
  at(i: number): Buffer {
    return this.bytes.subarray(this.offsets[i], this.offsets[i + 1]);
  }

  /** Views of entries [from, to). */
  slice(from: number, to: number): Buffer[] {
    const out: Buffer[] = [];
    for (let i = from; i < Math.min(to, this.length); i++) out.push(this.at(i));
    return out;
  }
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** `count` access-event entries, deterministic but for the event ids (UUIDs, as in production). */
export function accessEventEntries(count: number, seed = 1): PackedEntries {
  const rand = seededRandom(seed);
  const offsets = new Uint32Array(count + 1);
  let bytes = Buffer.allocUnsafe(Math.max(1024, count * 256));
  let used = 0;
  const start = Date.parse('2026-03-02T08:00:00.000Z');
  for (let i = 0; i < count; i++) {
    const entry = eventEntryBytes(accessEvent(i, rand, start));
    if (used + entry.length > bytes.length) {
      const bigger = Buffer.allocUnsafe(bytes.length * 2);
      bytes.copy(bigger, 0, 0, used);
      bytes = bigger;
    }
    entry.copy(bytes, used);
    used += entry.length;
    offsets[i + 1] = used;
  }
  return new PackedEntries(bytes, offsets);
}

function accessEvent(i: number, rand: () => number, startMs: number): AccessEvent {
  const actor = `emp-${pad(1 + Math.floor(rand() * 240), 4)}`;
  const customer = `cus-${pad(1 + Math.floor(rand() * 10_000), 6)}`;
  const purpose = { kind: 'case', ref: `case-${pad(1 + Math.floor(rand() * 2000), 6)}` };
  const ip = `10.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}.${1 + Math.floor(rand() * 254)}`;
  const common = { id: randomUUID(), time: new Date(startMs + i * 20).toISOString(), actor, action: 'reveal' as const, customers: [customer], purpose, channel: 'api', ip };
  // One in twenty is a denial, recorded with no fields, as the broker does.
  return rand() < 0.05
    ? { ...common, fields: [], decision: 'deny', reason: 'purpose_not_linked' }
    : { ...common, fields: ['email', 'phone'], decision: 'allow' };
}
