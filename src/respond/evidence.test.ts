import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../errors.ts';
import type { StoredCheckpoint } from '../ledger/index.ts';
import type { Store } from '../store/store.ts';
import { writeEvidencePack, type EvidenceContents } from './evidence.ts';

describe('the evidence pack', () => {
  it('refuses a directory that holds files already: an earlier pack\'s proofs would be checked with this one', async () => {
    const out = mkdtempSync(join(tmpdir(), 'custos-evidence-'));
    writeFileSync(join(out, 'events.jsonl'), '{"seq":3}\n');
    const contents = { events: [] } as unknown as EvidenceContents;
    const checkpoint = { size: 1 } as StoredCheckpoint;
    await expect(writeEvidencePack({} as Store, contents, checkpoint, [], out)).rejects.toThrow(InvalidInputError);
    await expect(writeEvidencePack({} as Store, contents, checkpoint, [], out)).rejects.toThrow('is not empty');
    expect(readdirSync(out)).toEqual(['events.jsonl']);
  });
});
