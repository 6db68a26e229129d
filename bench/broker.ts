/**
 * Reveals in-process through the real Broker (revealFields), with no HTTP around them, so what
 * differs is the recorder alone: the LedgerRecorder as openCustos wires it (group commit into
 * the Merkle ledger, signed checkpoints, the event stream, the access-event index) against #2's
 * append-only table (bench/table-recorder.ts): the same entry bytes, the same batch limit, and
 * `record` durable before it resolves, with no tree and no checkpoints. Both brokers share one
 * store, key ring and policy engine; their runs alternate, so drift hits both alike.
 */
import { openCustos, type Custos } from '../src/app.ts';
import { Broker, type RequestContext } from '../src/broker/broker.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { nowMs, pairedFigure, type Figure, type RunPair } from './figures.ts';
import { AGENT, FIELDS, prepareDataDir, type Pair } from './reveal.ts';
import { RUNS, type BenchContext, type Section } from './section.ts';
import { ACCESS_TABLE, TableRecorder } from './table-recorder.ts';

/** Reveals in flight at once, as the HTTP section's 50 connections each keep one. */
const LOOPS = 50;
// As an HTTP reveal records them: the channel and client address are part of the entry bytes.
const REQUEST: RequestContext = { channel: 'api', ip: '127.0.0.1' };

interface Sizes {
  customers: number;
  pairs: number;
  seconds: number;
  warmupSeconds: number;
}

const FULL: Sizes = { customers: 10_000, pairs: 2000, seconds: 5, warmupSeconds: 2 };
const QUICK: Sizes = { customers: 1000, pairs: 200, seconds: 1, warmupSeconds: 0.5 };

/** One broker under test, and how to count what its recorder has committed. */
interface Side {
  name: 'ledger' | 'table';
  broker: Broker;
  /** Entries the recorder has durably committed so far. */
  size(): number;
  /** Commit transactions and the entries in them so far (mean batch size). */
  batching(): { batches: number; entries: number };
}

export const brokerSection: Section = {
  name: 'broker',
  description: 'in-process reveals through the Broker: ledger recorder against an append-only table',
  async run(ctx) {
    const sizes = ctx.quick ? QUICK : FULL;
    const { dataDir, policyDir, pairs } = await prepareDataDir(ctx, 'broker', sizes);
    // Failures of the ledger's after-commit work (checkpoint signing, publishing) are only logged;
    // a run that silently skipped them would look faster, so the reader must hear of any.
    const logger = createLogger('warn', { write: (line: string) => ctx.warn(`custos logged under load: ${line.trim()}`) });
    // An empty environment: CUSTOS_* settings of the shell must not change what is measured.
    const custos = await openCustos(loadConfig({ data: dataDir, policies: policyDir }, {}), { logger });
    try {
      // Every committed ledger batch is published once, so the stream counts the ledger's batches.
      const ledgerBatching = { batches: 0, entries: 0 };
      custos.stream.subscribe((events) => {
        ledgerBatching.batches++;
        ledgerBatching.entries += events.length;
      });
      const table = await TableRecorder.open(custos.store, custos.config.ledger.maxBatch);
      try {
        const tableBroker = new Broker({ store: custos.store, vault: custos.vault, policy: custos.policy, recorder: table, now: custos.now });
        await tableBroker.loadBudgets();
        const ledger: Side = { name: 'ledger', broker: custos.broker, size: () => custos.appender.size, batching: () => ({ ...ledgerBatching }) };
        const baseline: Side = { name: 'table', broker: tableBroker, size: () => table.size, batching: () => ({ batches: table.batches, entries: table.committed }) };
        return [await measure(ctx, custos, ledger, baseline, pairs, sizes)];
      } finally {
        await table.close();
      }
    } finally {
      await custos.close();
    }
  },
};

async function measure(ctx: BenchContext, custos: Custos, ledger: Side, table: Side, pairs: readonly Pair[], sizes: Sizes): Promise<Figure> {
  ctx.log(`broker: warming up both brokers (${sizes.warmupSeconds} s each, ${LOOPS} loops, ${pairs.length} customer/case pairs)`);
  await timedRun(custos, ledger, pairs, sizes.warmupSeconds);
  await timedRun(custos, table, pairs, sizes.warmupSeconds);

  const ledgerBefore = ledger.batching();
  const tableBefore = table.batching();
  const runs: RunPair[] = [];
  for (let i = 0; i < RUNS; i++) {
    const l = await timedRun(custos, ledger, pairs, sizes.seconds);
    const t = await timedRun(custos, table, pairs, sizes.seconds);
    ctx.log(`broker: run ${i + 1}/${RUNS}: ledger ${l.toFixed(0)} reveals/s; table ${t.toFixed(0)} reveals/s`);
    runs.push({ value: l, baseline: t });
  }
  const meanBatch = (side: Side, before: { batches: number; entries: number }) => {
    const now = side.batching();
    return ((now.entries - before.entries) / Math.max(1, now.batches - before.batches)).toFixed(1);
  };
  const { maxBatch, checkpointEvery } = custos.config.ledger;
  return pairedFigure({
    section: 'broker',
    name: 'reveals through the broker, ledger recorder',
    unit: 'reveals/s',
    baselineName: 'append-only table recorder (#2)',
    runs,
    note:
      `${LOOPS} concurrent in-process loops calling Broker.revealFields (${FIELDS.join(' + ')}, case purpose) over ${pairs.length} customers, ${sizes.seconds} s per run, ` +
      'ledger and table runs alternating on one SQLite store (synchronous = FULL); a run ends once the access-event index has caught up, so deferred work counts against the run that caused it. ' +
      `Ledger: LedgerRecorder as openCustos wires it — LedgerAppender group commit (leaf hashes and Merkle nodes in each batch's transaction, up to ${maxBatch} entries), ` +
      `a signed checkpoint every ${checkpointEvery} entries, the event stream and the access-event index; mean batch ${meanBatch(ledger, ledgerBefore)}. ` +
      `Table: the same canonical entry bytes, one transaction per batch of up to ${maxBatch} into ${ACCESS_TABLE}(seq integer primary key, entry blob), ` +
      `durable before record resolves; no tree, checkpoints, index or stream; mean batch ${meanBatch(table, tableBefore)}`,
  });
}

/**
 * LOOPS loops revealing back to back over the pairs for `seconds`; returns reveals per second.
 * Throws if any reveal failed or was not recorded exactly once: a denied or failing reveal takes
 * another path, and timing it would measure the wrong thing.
 */
async function timedRun(custos: Custos, side: Side, pairs: readonly Pair[], seconds: number): Promise<number> {
  const sizeBefore = side.size();
  const since = custos.now().toISOString();
  let next = 0;
  let revealed = 0;
  let failures = 0;
  let firstError: unknown;
  const start = nowMs();
  const deadline = start + seconds * 1000;
  const loop = async () => {
    // One failure stops every loop: the run is void anyway.
    while (failures === 0 && nowMs() < deadline) {
      const pair = pairs[next++ % pairs.length] as Pair;
      try {
        const result = await side.broker.revealFields(AGENT, pair.customer, FIELDS, { kind: 'case', ref: pair.caseId }, REQUEST);
        const missing = FIELDS.find((f) => typeof result.fields[f] !== 'string');
        if (missing) throw new Error(`the reveal of ${pair.customer} returned no ${missing}`);
        revealed++;
      } catch (err) {
        failures++;
        firstError ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: LOOPS }, loop));
  // An index read catches the access-event index up to the ledger first (the same query on both
  // sides), so index work deferred past the loops is charged to this run, not the next one.
  const indexed = await custos.store.accessEvents.countSince(AGENT, 'reveal', 'allow', since);
  const elapsed = (nowMs() - start) / 1000;
  if (failures > 0) {
    throw new Error(`${side.name}: ${failures} of ${revealed + failures} reveals failed; the first: ${(firstError as Error).stack ?? String(firstError)}`);
  }
  const recorded = side.size() - sizeBefore;
  if (recorded !== revealed) throw new Error(`${side.name}: ${revealed} reveals but ${recorded} entries recorded`);
  // The table recorder feeds no index, so only the ledger's events may be found there.
  const expectIndexed = side.name === 'ledger' ? revealed : 0;
  if (indexed !== expectIndexed) throw new Error(`${side.name}: ${revealed} reveals but ${indexed} allowed reveals in the access-event index since ${since}`);
  return revealed / elapsed;
}
