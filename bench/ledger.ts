/** The ledger section: durable appends on both dialects, then verification and proofs at scale. */
import { accessEventEntries } from './access-events.ts';
import { appendFigures } from './ledger-append.ts';
import { verifyAndProofFigures, type VerifySizes } from './ledger-verify.ts';
import type { Section } from './section.ts';

const FULL = { appends: 100_000, verify: { entries: 1_000_000, checkpointEvery: 100_000, proofs: 2000 } satisfies VerifySizes };
const QUICK = { appends: 10_000, verify: { entries: 50_000, checkpointEvery: 5_000, proofs: 200 } satisfies VerifySizes };

export const ledgerSection: Section = {
  name: 'ledger',
  description: 'durable appends (SQLite, PostgreSQL), verifyLedger and proof latency on a large log',
  async run(ctx) {
    const sizes = ctx.quick ? QUICK : FULL;
    const appends = await appendFigures(ctx, accessEventEntries(sizes.appends));
    return [...appends, ...(await verifyAndProofFigures(ctx, sizes.verify))];
  },
};
