/** Entries back to back in one buffer, to cross to a worker thread as one transfer. */
export interface PackedEntries {
  bytes: Uint8Array<ArrayBuffer>;
  /** Entry i is bytes[offsets[i], offsets[i + 1]). */
  offsets: Uint32Array<ArrayBuffer>;
}

export function packEntries(entries: readonly Uint8Array[]): PackedEntries {
  let total = 0;
  for (const e of entries) total += e.length;
  const bytes = new Uint8Array(total);
  const offsets = new Uint32Array(entries.length + 1);
  let at = 0;
  entries.forEach((e, i) => {
    bytes.set(e, at);
    at += e.length;
    offsets[i + 1] = at;
  });
  return { bytes, offsets };
}
