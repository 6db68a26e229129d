/**
 * The evidence pack for law enforcement: the subject's events, each with its exact ledger entry
 * and its inclusion proof against a signed checkpoint, the verifier key, the blast radius and
 * the incident's timeline, and a README saying how to check it all with `custos ledger
 * verify-proof` and no store. Everything in it is checkable offline by anyone who trusts the key.
 */
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConflictError, InvalidInputError } from '../errors.ts';
import { inclusionProof, inclusionProofToJson, type StoredCheckpoint } from '../ledger/index.ts';
import type { RecordedEvent } from '../model.ts';
import type { Incident, TimelineEntry } from '../store/incidents.ts';
import type { Store } from '../store/store.ts';
import type { BlastRadius } from './blast-radius.ts';
import { incidentBlastRadius } from './incidents.ts';
import { PAGE_SIZE } from './sources.ts';

/** What the pack is made of, gathered while the export is recorded. */
export interface EvidenceContents {
  incident: Incident;
  timeline: TimelineEntry[];
  /** The subject's events in the window (every action and decision), in ledger order. */
  events: Array<{ seq: number; entry: Uint8Array; event: RecordedEvent }>;
  blastRadius: BlastRadius;
}

/** Read what the pack holds: every event of the subject in the incident's window, with its exact entry bytes. */
export async function gatherEvidence(store: Store, incident: Incident, timeline: TimelineEntry[]): Promise<EvidenceContents> {
  const events: EvidenceContents['events'] = [];
  if (incident.subject !== undefined) {
    let afterSeq: number | undefined;
    for (;;) {
      const page = await store.accessEvents.byActor(incident.subject, {
        ...(incident.from !== undefined ? { from: incident.from } : {}),
        ...(incident.to !== undefined ? { to: incident.to } : {}),
        ...(afterSeq !== undefined ? { afterSeq } : {}),
        limit: PAGE_SIZE,
      });
      for (const event of page) {
        for await (const stored of store.ledger.readEntries(event.seq, event.seq + 1)) events.push({ seq: event.seq, entry: stored.entry, event });
      }
      if (page.length < PAGE_SIZE) break;
      afterSeq = page[page.length - 1]!.seq;
    }
  }
  return { incident, timeline, events, blastRadius: await incidentBlastRadius(store, incident) };
}

/**
 * Write the pack to `out` with proofs against `checkpoint`, which must cover every event (sign
 * one after the export was recorded). `out` must be empty or new.
 */
export async function writeEvidencePack(store: Store, contents: EvidenceContents, checkpoint: StoredCheckpoint, verifierKeys: string[], out: string): Promise<{ events: number; dir: string }> {
  // Files left from another export would sit beside this one's and be checked by its verify.sh.
  if (existsSync(out) && statSync(out).isDirectory() && readdirSync(out).length > 0) {
    throw new InvalidInputError(`--out ${out}: is not empty; give a new or empty directory, so the pack holds only its own files`, { field: 'out' });
  }
  const last = contents.events.at(-1)?.seq ?? -1;
  if (checkpoint.size <= last) throw new ConflictError(`the latest signed checkpoint (size ${checkpoint.size}) does not cover entry ${last}; sign one (it is signed when a command closes) and export again`);
  try {
    mkdirSync(join(out, 'entries'), { recursive: true });
    mkdirSync(join(out, 'proofs'), { recursive: true });
  } catch (err) {
    throw new InvalidInputError(`--out ${out}: cannot create it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { field: 'out' });
  }
  const lines: string[] = [];
  for (const { seq, entry, event } of contents.events) {
    const proof = await inclusionProof(store.ledger, seq, checkpoint.size);
    writeFileSync(join(out, 'entries', `${seq}.json`), entry);
    writeFileSync(join(out, 'proofs', `${seq}.json`), `${JSON.stringify(inclusionProofToJson(proof), null, 2)}\n`);
    const { seq: _s, ...plain } = event;
    lines.push(JSON.stringify({ seq, entry: `entries/${seq}.json`, proof: `proofs/${seq}.json`, event: plain }));
  }
  writeFileSync(join(out, 'events.jsonl'), lines.length > 0 ? `${lines.join('\n')}\n` : '');
  writeFileSync(join(out, 'checkpoint.txt'), checkpoint.note);
  writeFileSync(join(out, 'verifier-key.txt'), `${verifierKeys.join('\n')}\n`);
  writeFileSync(join(out, 'blast-radius.json'), `${JSON.stringify(contents.blastRadius, null, 2)}\n`);
  writeFileSync(join(out, 'incident.json'), `${JSON.stringify({ ...contents.incident, timeline: contents.timeline }, null, 2)}\n`);
  writeFileSync(join(out, 'verify.sh'), verifyScript(verifierKeys), { mode: 0o755 });
  writeFileSync(join(out, 'README.md'), readme(contents, checkpoint));
  return { events: contents.events.length, dir: out };
}

function verifyScript(keys: string[]): string {
  const keyFlags = keys.map((_, i) => `--key "$(sed -n ${i + 1}p verifier-key.txt)"`).join(' ');
  return `#!/bin/sh
# Checks every event of this pack against the signed checkpoint, with no store. Run from this directory.
set -e
cd "$(dirname "$0")"
n=0
for proof in proofs/*.json; do
  [ -e "$proof" ] || continue
  seq=$(basename "$proof" .json)
  custos ledger verify-proof --proof "$proof" --entry "entries/$seq.json" --checkpoint checkpoint.txt ${keyFlags} >/dev/null
  n=$((n + 1))
done
echo "all $n events verified against checkpoint.txt"
`;
}

function readme(c: EvidenceContents, checkpoint: StoredCheckpoint): string {
  const i = c.incident;
  return `# Evidence pack: incident ${i.id}

${i.title}

- Kind: ${i.kind}${i.subject ? `; subject employee: ${i.subject}` : ''}
- Window: ${i.from ?? 'from the beginning'} to ${i.to ?? 'the time of export'}
- Events of the subject in the window: ${c.events.length}
- Customers whose data was revealed or exported: ${c.blastRadius.total} (${c.blastRadius.unjustifiedCustomers} with an access without a valid purpose)
- Checkpoint: tree of ${checkpoint.size} entries, signed ${checkpoint.signedAt}

## What is here

| file | what it is |
| --- | --- |
| \`events.jsonl\` | one line per event of the subject: its ledger index (\`seq\`), the event, and where its entry and proof are |
| \`entries/<seq>.json\` | the exact bytes the ledger holds for that event (RFC 8785 canonical JSON) |
| \`proofs/<seq>.json\` | its RFC 9162 inclusion proof in the tree that \`checkpoint.txt\` signs |
| \`checkpoint.txt\` | the signed checkpoint (C2SP tlog-checkpoint, Ed25519 signed-note) |
| \`verifier-key.txt\` | the ledger's verifier key(s); obtain the key from a source you trust as well, and compare |
| \`blast-radius.json\` | every customer affected: fields, first and last time, events, accesses without a valid purpose |
| \`incident.json\` | the incident and its timeline (each act with the ledger index of its recorded decision) |
| \`verify.sh\` | checks every event below in one go |

## How to check it, with no store

Each event's entry is in the ledger, unaltered, in the tree the checkpoint signs:

\`\`\`sh
custos ledger verify-proof --proof proofs/<seq>.json --entry entries/<seq>.json --checkpoint checkpoint.txt --key "$(cat verifier-key.txt)"
\`\`\`

It prints \`inclusion proof OK: entry <seq> is in the tree of ${checkpoint.size} entries signed by …\` and exits 0,
or names what does not match and exits non-zero. \`sh verify.sh\` runs it for every event. The
check needs only these files and the key: no database, no key file, no network. Any RFC 9162 /
C2SP tlog tool can check the same proofs: the leaf hash is SHA-256(0x00 || entry bytes).

Later checkpoints of the same ledger extend this one; \`custos ledger verify-proof\` with a
consistency proof (\`custos ledger prove --from ${checkpoint.size}\`) shows that nothing in this tree was rewritten since.
`;
}
