/**
 * Who runs an operator command, and the ledger record of what they did. `--as ID` names an
 * employee, whom Cedar decides for like any actor; without it the act is recorded under the
 * host's OS user (`os:<user>@<host>`). Either way the act is written to the ledger, through
 * the same appender and checkpointer as the server's, before it takes effect.
 */
import { hostname, userInfo } from 'node:os';
import { Option, type Command } from 'commander';
import { openLedgerWriter } from '../app.ts';
import { ActLog, type Act, type ActDetails, type ActLogDeps, type Actor } from '../broker/acts.ts';
import type { CustosConfig } from '../config.ts';
import { loadOrCreateSigningKeys } from '../ledger/index.ts';
import { checkId } from '../model.ts';
import { loadPolicyEngine, type PolicyEngine } from '../policy/index.ts';
import type { Store } from '../store/store.ts';

export const CLI_CONTEXT = { channel: 'cli' } as const;

export interface AsFlag {
  as?: string;
}

/** Adds `--as ID` to a command whose act is recorded. */
export function asOption(cmd: Command): Command {
  return cmd.addOption(new Option('--as <employee>', 'act as this employee: Cedar decides, and the ledger records their id (default: recorded as the OS user on this host)'));
}

/** The actor a command's `--as` names, or the host's OS user. */
export function actorOf(flags: AsFlag): Actor {
  if (flags.as !== undefined) return { kind: 'employee', id: checkId(flags.as, 'as'), runBy: hostActorId() };
  return { kind: 'host', id: hostActorId() };
}

/** `os:<user>@<host>`, cut to what an actor id may hold (model.ts checkId). */
export function hostActorId(user = osUserName(), host = hostname()): string {
  const clean = (s: string, max: number) => s.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, max) || 'unknown';
  return `os:${clean(user, 60)}@${clean(host, 64)}`;
}

function osUserName(): string {
  try {
    return userInfo().username;
  } catch {
    // No passwd entry for this uid (some containers).
    return process.env.USER ?? `uid-${process.getuid?.() ?? 'unknown'}`;
  }
}

/**
 * Run `work` with an ActLog over `store`; close the ledger writer afterwards, which signs a
 * final checkpoint covering what the command recorded.
 */
export async function withActLog<T>(store: Store, config: CustosConfig, work: (acts: ActLog, deps: ActLogDeps) => Promise<T>): Promise<T> {
  const now = () => new Date();
  const signingKeys = await loadOrCreateSigningKeys(config.keyDir, {
    now,
    ...(config.ledger.origin ? { origin: config.ledger.origin } : {}),
    // A ledger with entries keeps the key that signed them: a lost key file is not replaced here.
    mayCreate: async () => (await store.ledger.size()) === 0,
  });
  // Start the store's ledger writer thread first: its start-up is not an append, and must not
  // eat into the append timeout.
  await store.warmUp();
  const writer = await openLedgerWriter(config, store, signingKeys, { now });
  // Policies are read only when an employee is decided for (--as).
  let engine: PolicyEngine | undefined;
  const policy = { decide: (req: Parameters<PolicyEngine['decide']>[0]) => (engine ??= loadPolicyEngine({ dir: config.policyDir, cacheSize: 0 })).decide(req) };
  let failed = false;
  try {
    const deps: ActLogDeps = { store, policy, recorder: writer.recorder, now };
    return await work(new ActLog(deps), deps);
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    try {
      await writer.recorder.close();
      await writer.checkpointer.close();
    } catch (err) {
      // A failure here must not hide the command's own.
      if (!failed) throw err;
    }
  }
}

/**
 * Decide and record `act` (exit 4 with the denial recorded, or 8 if it cannot be recorded),
 * run it, then record what it did when it returns details.
 */
export async function recordedAct<T>(acts: ActLog, actor: Actor, act: Act, run: () => Promise<{ result: T; outcome?: ActDetails }>): Promise<T> {
  await acts.authorize(actor, act, CLI_CONTEXT);
  const { result, outcome } = await run();
  if (outcome) await acts.recordOutcome(actor, act, outcome, CLI_CONTEXT);
  return result;
}
