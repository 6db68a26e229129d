import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Option, type Command } from 'commander';
import type { CustosConfig } from '../config.ts';
import { LedgerAccess } from '../broker/ledger-access.ts';
import { IntegrityError, InvalidInputError, NotFoundError } from '../errors.ts';
import {
  consistencyProofToJson,
  inclusionProofToJson,
  leafHash,
  loadSigningKeys,
  parseProofJson,
  SIGNING_KEY_FILE,
  verifyConsistencyProofAgainstCheckpoints,
  verifyExport,
  verifyInclusionProofAgainstCheckpoint,
  verifyLedger,
  type LedgerVerification,
} from '../ledger/index.ts';
import { toHex } from '../ledger/proof-format.ts';
import { configFromFlags, storeOptions, withStore, type StoreFlags } from './store-flags.ts';
import { actorOf, asOption, CLI_CONTEXT, withActLog, type AsFlag } from './operator.ts';

const configOf = configFromFlags;

function wholeNumber(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) throw new InvalidInputError(`${flag} must be a whole number ≥ 0, got "${raw}"`, { field: flag.replace(/^--/, '') });
  return Number(raw);
}

async function readTextFile(path: string, what: string): Promise<string> {
  try {
    return path === '-' ? await readStdin() : await readFile(path, 'utf8');
  } catch (err) {
    throw new InvalidInputError(`${what} ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { file: path });
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Verifier keys: given with --key (from a source you trust), else the ledger signing key file. */
async function verifierKeysOf(keys: string[] | undefined, config: CustosConfig | undefined): Promise<string[]> {
  if (keys && keys.length > 0) return keys;
  if (!config) throw new InvalidInputError('give the verifier key with --key NAME+ID+KEY (custos ledger key prints it)', { field: 'key' });
  return (await loadSigningKeys(join(config.keyDir, SIGNING_KEY_FILE))).verifierKeys();
}

function report(result: LedgerVerification, what: string): void {
  if (!result.ok) throw new IntegrityError(`${what} FAILED: ${result.problem}`);
  const unsigned = result.size - result.latestCheckpointSize;
  process.stdout.write(
    `${what} OK: ${result.size} entries, root ${result.root}, ${result.checkpoints} signed checkpoint(s)` +
      `${unsigned > 0 ? `, ${unsigned} entries after the latest checkpoint` : ''}\n`,
  );
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerLedger(program: Command): void {
  const ledger = program.command('ledger').description('the tamper-evident access ledger: checkpoints, proofs, verification, export');

  storeOptions(ledger.command('checkpoint').description('print the latest checkpoint the checkpointer signed (every N entries, every T ms, when a server or command closes)'))
    .action(async (opts: StoreFlags) => {
      await withStore(opts, async (store) => {
        const latest = await store.ledger.latestCheckpoint();
        if (!latest) throw new NotFoundError('no checkpoint has been signed yet: one is signed once entries are recorded');
        process.stdout.write(latest.note);
      });
    });

  asOption(storeOptions(
    ledger
      .command('prove')
      .description('print an inclusion proof (--index I [--size N]) or a consistency proof (--from M --to N) as JSON')
      .option('--index <i>', 'entry index (0-based)')
      .option('--size <n>', 'tree size for the inclusion proof (default: the whole log)')
      .option('--from <m>', 'older tree size for a consistency proof')
      .option('--to <n>', 'newer tree size for a consistency proof (default: the whole log)'),
  )).action(async (opts: StoreFlags & AsFlag & { index?: string; size?: string; from?: string; to?: string }) => {
    const index = wholeNumber('--index', opts.index);
    const from = wholeNumber('--from', opts.from);
    if ((index === undefined) === (from === undefined)) throw new InvalidInputError('give either --index (inclusion) or --from (consistency)', { field: 'index' });
    const actor = actorOf(opts);
    await withStore(opts, (store, config) => withActLog(store, config, async (_acts, deps) => {
      const access = new LedgerAccess(deps);
      const size = await store.ledger.size();
      if (index !== undefined) {
        const n = wholeNumber('--size', opts.size) ?? size;
        if (n < 1 || n > size) throw new InvalidInputError(`--size must be from 1 to ${size}, got ${n}`, { field: 'size' });
        if (index >= n) throw new InvalidInputError(`--index must be below the tree size ${n}, got ${index}`, { field: 'index' });
        process.stdout.write(`${JSON.stringify(inclusionProofToJson(await access.inclusionProof(actor, index, n, CLI_CONTEXT)))}\n`);
      } else {
        const to = wholeNumber('--to', opts.to) ?? size;
        if (to < 1 || to > size) throw new InvalidInputError(`--to must be from 1 to ${size}, got ${to}`, { field: 'to' });
        if (from! < 1 || from! > to) throw new InvalidInputError(`--from must be from 1 to ${to}, got ${from}`, { field: 'from' });
        process.stdout.write(`${JSON.stringify(consistencyProofToJson(await access.consistencyProof(actor, from!, to, CLI_CONTEXT)))}\n`);
      }
    }));
  });

  storeOptions(
    ledger
      .command('verify')
      .description('recompute every leaf and root from the stored entries and check every checkpoint; exit 0 when intact')
      .option('--key <vkey>', 'trusted verifier key (repeatable); default: the ledger signing key file', collect)
      .option('--checkpoint <file>', 'a checkpoint you kept earlier: the log must still contain the tree it signed')
      .option('--deep', 'also compare every stored tree node with the recomputed one (slower; catches nodes altered without touching entries)', false),
  ).action(async (opts: StoreFlags & { key?: string[]; checkpoint?: string; deep: boolean }) => {
    await withStore(opts, async (store, config) => {
      const keys = await verifierKeysOf(opts.key, config);
      const trusted = opts.checkpoint ? await readTextFile(opts.checkpoint, 'checkpoint') : undefined;
      report(await verifyLedger(store.ledger, keys, { deep: opts.deep, ...(trusted ? { trusted } : {}) }), 'ledger');
    });
  });

  ledger
    .command('verify-proof')
    .description('check a proof from `ledger prove` against signed checkpoints and a verifier key, with no store')
    .requiredOption('--proof <file>', 'the proof JSON (- for stdin)')
    .requiredOption('--checkpoint <file>', 'the signed checkpoint the proof is for (for consistency: the newer one)')
    .option('--older <file>', 'consistency proofs: the older signed checkpoint')
    .option('--entry <file>', 'inclusion proofs: the entry bytes, to check the proof is about them')
    .requiredOption('--key <vkey>', 'verifier key (repeatable)', collect)
    .action(async (opts: { proof: string; checkpoint: string; older?: string; entry?: string; key: string[] }) => {
      const proof = parseProofJson(await readTextFile(opts.proof, 'proof'));
      const checkpoint = await readTextFile(opts.checkpoint, 'checkpoint');
      if (proof.type === 'inclusion') {
        const entry = opts.entry ? await readFile(opts.entry).catch(() => { throw new InvalidInputError(`entry ${opts.entry}: cannot read it`, { file: opts.entry! }); }) : undefined;
        const cp = verifyInclusionProofAgainstCheckpoint(proof, checkpoint, opts.key, entry);
        process.stdout.write(`inclusion proof OK: entry ${proof.index} is in the tree of ${cp.size} entries signed by ${cp.origin}\n`);
      } else {
        if (!opts.older) throw new InvalidInputError('a consistency proof needs --older (the older signed checkpoint)', { field: 'older' });
        const { older, newer } = verifyConsistencyProofAgainstCheckpoints(proof, await readTextFile(opts.older, 'checkpoint'), checkpoint, opts.key);
        process.stdout.write(`consistency proof OK: the tree of ${newer.size} entries extends the tree of ${older.size} (${newer.origin})\n`);
      }
    });

  ledger
    .command('verify-export')
    .description('check a `ledger export` file against a signed checkpoint and a verifier key, with no store (what an outside auditor runs)')
    .argument('<file>', 'the export (JSON lines; - for stdin)')
    .requiredOption('--checkpoint <file>', 'the signed checkpoint to check against')
    .requiredOption('--key <vkey>', 'verifier key (repeatable)', collect)
    .action(async (file: string, opts: { checkpoint: string; key: string[] }) => {
      const checkpoint = await readTextFile(opts.checkpoint, 'checkpoint');
      const input = file === '-' ? process.stdin : createReadStream(file);
      input.on('error', () => {});
      if (file !== '-') await readFile(file, { flag: 'r' }).catch(() => { throw new InvalidInputError(`export ${file}: cannot read it`, { file }); });
      report(await verifyExport(createInterface({ input, crlfDelay: Infinity }), { checkpoint, verifierKeys: opts.key }), 'export');
    });

  asOption(storeOptions(
    ledger
      .command('export')
      .description('write raw entries to stdout, one JSON line each: {"index","entry" (base64 of the exact bytes),"leafHash" (hex)}; the export itself is recorded first')
      .addOption(new Option('--from <i>', 'first index (default 0)'))
      .addOption(new Option('--to <j>', 'end index, exclusive (default: the whole log as it stands before the export is recorded)')),
  )).action(async (opts: StoreFlags & AsFlag & { from?: string; to?: string }) => {
    const actor = actorOf(opts);
    await withStore(opts, (store, config) => withActLog(store, config, async (_acts, deps) => {
      const size = await store.ledger.size();
      const from = wholeNumber('--from', opts.from) ?? 0;
      const to = Math.min(wholeNumber('--to', opts.to) ?? size, size);
      if (from > to) throw new InvalidInputError(`--from (${from}) must not be after --to (${to})`, { field: 'from' });
      let buffered = '';
      for await (const e of await new LedgerAccess(deps).entries(actor, { from, to }, 'export', CLI_CONTEXT)) {
        buffered += `${JSON.stringify({ index: e.index, entry: Buffer.from(e.entry).toString('base64'), leafHash: toHex(leafHash(e.entry)) })}\n`;
        if (buffered.length > 1 << 16) {
          if (!process.stdout.write(buffered)) await new Promise((r) => process.stdout.once('drain', r));
          buffered = '';
        }
      }
      process.stdout.write(buffered);
    }));
  });

  storeOptions(ledger.command('key').description('print the ledger verifier key string(s), old ones included'))
    .action(async (opts: StoreFlags) => {
      const config = configOf(opts);
      process.stdout.write(`${(await verifierKeysOf(undefined, config)).join('\n')}\n`);
    });
}
