/**
 * Ingest: access events from systems that are not behind the broker (DESIGN.md events.jsonl),
 * written into the ledger so that detection, blast radius and notification see them like
 * Custos's own. Each event keeps its own actor, time and decision, and is marked
 * `details.ingested: true` with its `source` and `ingestAct` (the ledger index of the ingest act
 * that brought it); the act itself is decided by Cedar (`ingest`) and recorded before any event,
 * and its outcome after.
 *
 * All or nothing per file: a first pass reads the whole file and checks every line; one bad line
 * (reported with its line number and field, up to MAX_REPORTED of them) and nothing is recorded.
 * Only then does a second pass record the events, in file order. Both passes stream, so memory
 * does not grow with the file. Should the ledger fail midway, what it recorded stays recorded and
 * the error says which lines were not. Sending the same events again is safe: an event whose id
 * was ingested from the same source before is skipped (events without an id cannot be matched).
 */
import { randomUUID } from 'node:crypto';
import { InvalidInputError, UnavailableError } from '../errors.ts';
import { readRecords, UnreadableLine } from '../importer/read-records.ts';
import { checkId, parseAccessEventInput, type AccessEvent, type AccessEventInput, type RecordedEvent, type Where } from '../model.ts';
import { ActLog, type Act, type ActDetails, type ActLogDeps, type Actor } from './acts.ts';
import type { RequestContext } from './decision-log.ts';
import type { Recorder } from './recorder.ts';
import type { Store } from '../store/store.ts';

/** Bad lines named in one refusal. */
export const MAX_REPORTED = 20;
/** Records in flight at once: enough for the appender's group commit to fill its batches. */
const RECORD_WINDOW = 512;
/**
 * How far ahead of this server's clock an ingested event's time may be (clock skew between
 * systems). Further ahead is refused: a source could otherwise plant events "in the future"
 * that detection would meet as the newest activity of whoever they name.
 */
export const MAX_FUTURE_MS = 5 * 60_000;

export interface BadLine {
  line: number;
  field?: string;
  message: string;
}

export interface IngestSummary {
  /** Events recorded. */
  ingested: number;
  /** Events skipped: their id was ingested from the same source before. */
  skipped: number;
  /** Ledger index of the ingest act (each event's `details.ingestAct`). */
  act: number;
  /** Ledger indexes of the first and last event recorded. */
  first?: number;
  last?: number;
}

interface IngestDeps {
  acts: ActLog;
  recorder: Recorder;
  store: Store;
  now: () => Date;
}

/** What each ingested event is marked with. */
export interface IngestMark {
  source: string;
  act: number;
}

export class EventIngest {
  private readonly deps: IngestDeps;

  constructor(deps: ActLogDeps) {
    this.deps = { acts: new ActLog(deps), recorder: deps.recorder, store: deps.store, now: deps.now };
  }

  /**
   * Decide and record the ingest act (403 with the denial recorded, before anything is read).
   * `source` names the system the events come from.
   */
  async begin(actor: Actor, source: string, details: ActDetails, ctx: RequestContext): Promise<IngestRun> {
    checkId(source, 'source');
    const act: Act = {
      request: { action: 'ingest', resource: { type: 'Directory', id: 'events' } },
      action: 'update',
      target: { type: 'directory', id: 'events' },
      operation: 'import',
      details: { source, ...details },
    };
    const recorded = await this.deps.acts.authorize(actor, act, ctx);
    return new IngestRun(this.deps, actor, act, { source, act: recorded.seq }, ctx);
  }
}

/** One authorized ingest: check a file, then record it, or give up; the outcome is recorded either way. */
export class IngestRun {
  constructor(
    private readonly deps: IngestDeps,
    private readonly actor: Actor,
    private readonly act: Act,
    readonly mark: IngestMark,
    private readonly ctx: RequestContext,
  ) {}

  /**
   * Check every line of the .jsonl `file`, then record its events. `label` names the file in
   * messages (undefined: a request body, whose lines are named "line N").
   */
  async ingestFile(file: string, label: string | undefined, outcome: ActDetails = {}): Promise<IngestSummary> {
    const notAfter = this.deps.now().getTime() + MAX_FUTURE_MS;
    const { lines, bad } = await checkLines(file, label, notAfter);
    if (bad.length > 0) {
      await this.finish({ ...outcome, result: 'rejected', lines, badLines: bad.length, firstBadLine: bad[0]!.line });
      const first = bad[0]!;
      const more = bad.length > 1 ? ` (and ${bad.length >= MAX_REPORTED ? 'more' : bad.length - 1} other bad line${bad.length > 2 ? 's' : ''})` : '';
      throw new InvalidInputError(`${first.message}${more}; nothing was ingested`, {
        ...(label !== undefined ? { file: label } : {}),
        line: first.line,
        ...(first.field !== undefined ? { field: first.field } : {}),
        problems: bad,
      });
    }
    const summary = await this.recordLines(file, label, outcome, notAfter);
    await this.finish({ ...outcome, result: 'done', lines, recorded: summary.ingested, skipped: summary.skipped, ...(summary.first !== undefined ? { first: summary.first, last: summary.last! } : {}) });
    return summary;
  }

  /** The ingest stopped before its events were read (a body too large, a broken upload): record why. */
  async abandon(outcome: ActDetails): Promise<void> {
    await this.finish({ ...outcome, result: 'rejected' });
  }

  private async finish(outcome: ActDetails): Promise<void> {
    await this.deps.acts.recordOutcome(this.actor, this.act, outcome, this.ctx);
  }

  private async recordLines(file: string, label: string | undefined, outcome: ActDetails, notAfter: number): Promise<IngestSummary> {
    const summary: IngestSummary = { ingested: 0, skipped: 0, act: this.mark.act };
    const { store, recorder } = this.deps;
    // Scoped to the account as well as the source: `source` is the caller's word, so another
    // account naming the same source must not get a real system's coming event ids skipped.
    const source = `${this.actor.id}/${this.mark.source}`;
    let window: Array<{ line: number; event: AccessEventInput }> = [];
    const notRecorded: number[] = [];
    // Events this account already ingested from this source (a resend) are skipped, by their own id.
    const flush = async (): Promise<void> => {
      const ids = window.flatMap((w) => (w.event.id !== undefined ? [w.event.id] : []));
      const known = ids.length > 0 ? await store.ingestedEvents.known(source, ids) : new Set<string>();
      const sending: Array<{ line: number; id?: string; recorded: Promise<RecordedEvent> }> = [];
      for (const w of window) {
        if (w.event.id !== undefined && known.has(w.event.id)) {
          summary.skipped++;
          continue;
        }
        if (w.event.id !== undefined) known.add(w.event.id);
        sending.push({ line: w.line, ...(w.event.id !== undefined ? { id: w.event.id } : {}), recorded: recorder.record(ingestedEvent(w.event, this.mark)) });
      }
      window = [];
      const settled = await Promise.allSettled(sending.map((s) => s.recorded));
      const remembered: Array<{ id: string; seq: number }> = [];
      settled.forEach((s, i) => {
        if (s.status === 'rejected') notRecorded.push(sending[i]!.line);
        else {
          summary.ingested++;
          summary.first ??= s.value.seq;
          summary.last = s.value.seq;
          if (sending[i]!.id !== undefined) remembered.push({ id: sending[i]!.id!, seq: s.value.seq });
        }
      });
      await store.ingestedEvents.remember(source, remembered);
    };
    let lastLine = 0;
    for await (const item of readRecords(file, 'jsonl')) {
      lastLine = item.line;
      // Checked a moment ago; a file changed since then stops here, with what came before recorded.
      const parsed = item instanceof UnreadableLine ? undefined : parseOrUndefined(item.value, whereOf(label, item.line), notAfter);
      if (!parsed) {
        await flush();
        await this.finish({ ...outcome, result: 'failed', recorded: summary.ingested, skipped: summary.skipped, changedAtLine: item.line });
        throw new InvalidInputError(`${placeOf(label, item.line)}the file changed while it was ingested; ${summary.ingested} events before this line were recorded`, { ...(label ? { file: label } : {}), line: item.line });
      }
      window.push({ line: item.line, event: parsed });
      if (window.length >= RECORD_WINDOW) {
        await flush();
        if (notRecorded.length > 0) break;
      }
    }
    await flush();
    if (notRecorded.length > 0) {
      notRecorded.sort((a, b) => a - b);
      await this.finish({ ...outcome, result: 'failed', recorded: summary.ingested, skipped: summary.skipped, notRecorded: notRecorded.length, firstNotRecorded: notRecorded[0]!, stoppedAtLine: lastLine }).catch(() => {});
      throw new UnavailableError(
        `the ledger could not record every event: ${summary.ingested} recorded, ${notRecorded.length} not (the first at line ${notRecorded[0]}), and nothing after line ${lastLine} was sent; ` +
        'send the same events again: those with an id that were recorded are skipped',
      );
    }
    return summary;
  }
}

/** The event as the ledger holds it: its own facts, marked as ingested. */
export function ingestedEvent(parsed: AccessEventInput, mark: IngestMark): AccessEvent {
  return {
    ...parsed,
    id: parsed.id ?? randomUUID(),
    // Ours last: a source cannot pass its events off as not ingested.
    details: { ...parsed.details, ingested: true, source: mark.source, ingestAct: mark.act },
  };
}

/** Read every line; the bad ones (at most MAX_REPORTED), and how many lines held an event. */
async function checkLines(file: string, label: string | undefined, notAfter: number): Promise<{ lines: number; bad: BadLine[] }> {
  const bad: BadLine[] = [];
  let lines = 0;
  for await (const item of readRecords(file, 'jsonl')) {
    lines++;
    if (bad.length >= MAX_REPORTED) continue;
    if (item instanceof UnreadableLine) {
      bad.push({ line: item.line, message: `${placeOf(label, item.line)}${item.message}` });
      continue;
    }
    try {
      parseIngested(item.value, whereOf(label, item.line), notAfter);
    } catch (err) {
      if (!(err instanceof InvalidInputError)) throw err;
      const message = label === undefined ? `line ${item.line}: ${err.message}` : err.message;
      bad.push({ line: item.line, ...(err.where?.field !== undefined ? { field: err.where.field } : {}), message });
    }
  }
  if (lines === 0) bad.push({ line: 0, message: `${label ? `${label}: ` : ''}holds no event (one JSON object per line)` });
  return { lines, bad };
}

/** An event as its source sent it, no later than `notAfter` (ms since the epoch). */
function parseIngested(value: unknown, where: Where, notAfter: number): AccessEventInput {
  const event = parseAccessEventInput(value, where);
  if (Date.parse(event.time) > notAfter) {
    throw new InvalidInputError(`${where.file !== undefined ? `${where.file}:${where.line}: ` : ''}time ${event.time} is more than ${MAX_FUTURE_MS / 60_000} minutes ahead of this server's clock (${new Date(notAfter - MAX_FUTURE_MS).toISOString()})`, { ...where, field: 'time' });
  }
  return event;
}

function parseOrUndefined(value: unknown, where: Where, notAfter: number): AccessEventInput | undefined {
  try {
    return parseIngested(value, where, notAfter);
  } catch (err) {
    if (err instanceof InvalidInputError) return undefined;
    throw err;
  }
}

/** A file's lines are named file:line by the parser; a body's are prefixed "line N: " here. */
function whereOf(label: string | undefined, line: number): Where {
  return label !== undefined ? { file: label, line } : { line };
}

function placeOf(label: string | undefined, line: number): string {
  return label !== undefined ? `${label}:${line}: ` : `line ${line}: `;
}
