import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { CustosConfig } from '../config.ts';
import { InvalidInputError, NotFoundError } from '../errors.ts';
import { checkId } from '../model.ts';
import { loadSigningKeys, SIGNING_KEY_FILE } from '../ledger/index.ts';
import { gatherEvidence, writeEvidencePack, type EvidenceContents } from '../respond/evidence.ts';
import { IncidentService, incidentBlastRadius, obligationsInput, openIncidentFromAlert, type ExposureSource, type IncidentView, type Opened } from '../respond/incidents.ts';
import { RECIPIENTS, type Recipient } from '../respond/incident-input.ts';
import { obligationsFor, type Obligations } from '../respond/obligations.ts';
import { loadRules } from '../respond/rules.ts';
import { loadEntities } from '../respond/entities.ts';
import { INCIDENT_STATES, type IncidentState } from '../store/incidents.ts';
import type { Store } from '../store/store.ts';
import type { ActLog, ActLogDeps } from '../broker/acts.ts';
import { AlertDesk } from '../broker/alert-desk.ts';
import { actorOf, asOption, CLI_CONTEXT, withActLog, type AsFlag } from './operator.ts';
import { storeOptions, withStore, type StoreFlags } from './store-flags.ts';
import { join } from 'node:path';

type Flags = StoreFlags & AsFlag;

/** The incident service over the command's store, its acts recorded through the CLI's ledger writer. */
function serviceFor(store: Store, config: CustosConfig, acts: ActLog): IncidentService {
  const c = config.containment;
  return new IncidentService({
    store,
    acts,
    now: () => new Date(),
    ...(c.webhookUrl ? { webhook: { url: c.webhookUrl, attempts: c.webhookAttempts, backoffMs: c.webhookBackoffMs } } : {}),
  });
}

export function withIncidents<T>(opts: Flags, work: (service: IncidentService, store: Store, deps: ActLogDeps, config: CustosConfig) => Promise<T>): Promise<T> {
  return withStore(opts, (store, config) => withActLog(store, config, (acts, deps) => work(serviceFor(store, config, acts), store, deps, config)));
}

/** Customer ids, one per line (blank lines skipped), for an accidental exposure; with the line of each. */
async function readCustomerIds(file: string): Promise<{ ids: string[]; source: ExposureSource }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new InvalidInputError(`${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { file });
  }
  const ids: string[] = [];
  const lines: number[] = [];
  text.split(/\r?\n/).forEach((l, i) => {
    const id = l.trim();
    if (id === '') return;
    ids.push(checkId(id, 'customer', { file, line: i + 1 }));
    lines.push(i + 1);
  });
  return { ids, source: { file, lines } };
}

function stateOf(value: string, flag: 'to' | 'state'): IncidentState {
  if (!(INCIDENT_STATES as readonly string[]).includes(value)) throw new InvalidInputError(`--${flag} must be one of ${INCIDENT_STATES.join(', ')}, got "${value}"`, { field: flag });
  return value as IncidentState;
}

/** Wait for the containment webhook, saying how it went. */
async function reportWebhook(opened: Opened): Promise<void> {
  const outcome = await opened.notified;
  if (outcome) process.stderr.write(`containment webhook: ${outcome.delivered ? 'delivered' : 'NOT delivered'} after ${outcome.attempts} attempt(s)\n`);
}

function describeIncident(i: IncidentView): string {
  const lines = [
    `${i.id}  ${i.state}  ${i.kind}${i.subject ? ` subject ${i.subject}` : ''}  opened ${i.openedAt} by ${i.openedBy}`,
    `  ${i.title}`,
    ...(i.from || i.to ? [`  window ${i.from ?? '…'} to ${i.to ?? '…'}`] : []),
    ...i.timeline.map((t) => `  ${String(t.n).padStart(3)} ${t.at} ${t.kind} by ${t.actor}${t.seq !== undefined ? ` (ledger ${t.seq})` : ''} ${JSON.stringify(t.detail)}`),
  ];
  return `${lines.join('\n')}\n`;
}

function describeObligations(o: Obligations): string {
  const line = (l: { jurisdiction: string; required: string; deadline: string | null; affected: number }) => `  ${l.jurisdiction.padEnd(6)} ${l.required.padEnd(6)} ${(l.deadline ?? '-').padEnd(25)} ${l.affected} affected`;
  return [
    `Incident ${o.incident}: aware at ${o.awareAt}; controller ${o.controller}; rules ${o.rulesVersion}`,
    'authorities:',
    ...o.authorities.map((a) => `${line(a)}  ${a.authority}`),
    'individuals:',
    ...o.individuals.map(line),
    '',
  ].join('\n');
}

export function registerIncident(program: Command): void {
  const incident = program.command('incident').description('incidents: open (containing a suspected employee at once), show, list, move through their lifecycle, export evidence');

  asOption(storeOptions(
    incident
      .command('open')
      .description('open an incident about a suspected employee (contained at once) or an accidental exposure; prints the new id alone on its last line')
      .requiredOption('--title <text>', 'what happened, in a line')
      .option('--employee <id>', 'the suspected employee: suspended at once, the containment webhook told')
      .option('--alert <id>', 'escalate this alert: its employee is the subject, its first event starts the window')
      .option('--from <time>', 'window start, inclusive (RFC 3339)')
      .option('--to <time>', 'window end, exclusive (RFC 3339)')
      .option('--customers <file>', 'accidental exposure: the customers exposed, one id per line (with --fields)')
      .option('--fields <list>', 'accidental exposure: the fields exposed, comma-separated')
      .option('--exposed-channel <name>', 'accidental exposure as a query over events: those of this channel in [--from, --to)')
      .option('--exposed-actor <id>', 'accidental exposure as a query over events: those of this actor (a system, a job) in [--from, --to)'),
  )).action(async (opts: Flags & { title: string; employee?: string; alert?: string; from?: string; to?: string; customers?: string; fields?: string; exposedChannel?: string; exposedActor?: string }) => {
    const actor = actorOf(opts);
    if (opts.alert !== undefined && (opts.employee !== undefined || opts.customers !== undefined)) throw new InvalidInputError('--alert names the employee itself; give --alert, --employee or --customers', { field: 'alert' });
    if ((opts.customers === undefined) !== (opts.fields === undefined)) throw new InvalidInputError('--customers and --fields go together', { field: opts.customers === undefined ? 'customers' : 'fields' });
    const query = opts.exposedChannel !== undefined || opts.exposedActor !== undefined
      ? { query: { ...(opts.exposedChannel !== undefined ? { channel: opts.exposedChannel } : {}), ...(opts.exposedActor !== undefined ? { actor: opts.exposedActor } : {}) } }
      : undefined;
    if (query && opts.customers !== undefined) throw new InvalidInputError('give the customers exposed or a query over events, not both', { field: 'customers' });
    const listed = opts.customers !== undefined ? await readCustomerIds(opts.customers) : undefined;
    const exposure = listed ? { customers: listed.ids, fields: opts.fields!.split(',').map((f) => f.trim()).filter(Boolean) } : query;
    const opened = await withIncidents(opts, async (service, store, deps) => {
      const result = opts.alert !== undefined
        ? await openIncidentFromAlert(service, store, actor, opts.alert, CLI_CONTEXT, opts.title, new AlertDesk(deps))
        : await service.open(actor, {
          title: opts.title,
          ...(opts.employee !== undefined ? { employee: opts.employee } : {}),
          ...(opts.from !== undefined ? { from: opts.from } : {}),
          ...(opts.to !== undefined ? { to: opts.to } : {}),
          ...(exposure ? { exposure } : {}),
        }, CLI_CONTEXT, listed?.source);
      // The webhook's attempts go on the timeline: wait for them while the store is open.
      await reportWebhook(result);
      return result.incident;
    });
    process.stderr.write(`opened incident ${opened.id} (${opened.state})${opened.subject ? `: ${opened.subject} is suspended from the next request on, in every process` : ''}\n`);
    process.stdout.write(`${opened.id}\n`);
  });

  asOption(storeOptions(
    incident.command('show').description('an incident with its timeline').argument('<id>', 'incident id').option('--json', 'print JSON'),
  )).action(async (id: string, opts: Flags & { json?: boolean }) => {
    const actor = actorOf(opts);
    const view = await withIncidents(opts, (service) => service.show(actor, id, CLI_CONTEXT));
    process.stdout.write(opts.json ? `${JSON.stringify(view, null, 2)}\n` : describeIncident(view));
  });

  asOption(storeOptions(
    incident
      .command('affected')
      .description('the customers an incident affected, each with the fields exposed, first and last time (the notices\' "customers"), and totals by field and country')
      .argument('<id>', 'incident id'),
  )).action(async (id: string, opts: Flags) => {
    const actor = actorOf(opts);
    const radius = await withIncidents(opts, async (service, store) => incidentBlastRadius(store, await service.show(actor, id, CLI_CONTEXT)));
    process.stdout.write(`${JSON.stringify({ incident: id, ...radius }, null, 2)}\n`);
  });

  asOption(storeOptions(
    incident
      .command('obligations')
      .description('who must be told of the incident, by when and why, per jurisdiction: its blast radius through the rules table (as `custos obligations`)')
      .argument('<id>', 'incident id')
      .option('--recipient <kind>', `who received the data: ${RECIPIENTS.join(', ')} (default: third-party for an insider, unknown for an exposure)`)
      .option('--controller-name <name>', 'the controller (default: the entities file\'s default entity)')
      .option('--controller-country <code>', 'its country (ISO 3166-1 alpha-2)')
      .option('--encrypted', 'the data disclosed was encrypted and its key was not', false)
      .option('--json', 'print JSON: {"authorities":[…],"individuals":[…],"records":[…]}'),
  )).action(async (id: string, opts: Flags & { recipient?: string; controllerName?: string; controllerCountry?: string; encrypted: boolean; json?: boolean }) => {
    const actor = actorOf(opts);
    if (opts.recipient !== undefined && !(RECIPIENTS as readonly string[]).includes(opts.recipient)) throw new InvalidInputError(`--recipient must be one of ${RECIPIENTS.join(', ')}`, { field: 'recipient' });
    if ((opts.controllerName === undefined) !== (opts.controllerCountry === undefined)) throw new InvalidInputError('--controller-name and --controller-country go together', { field: 'controller-name' });
    const result = await withStore(opts, async (store, config) => {
      const rules = loadRules(config.rulesDir);
      const entities = loadEntities(config.entitiesFile);
      const fallback = entities.entities.get(entities.defaultEntity)!;
      const controller = opts.controllerName !== undefined ? { name: opts.controllerName, country: opts.controllerCountry!.toUpperCase() } : { name: fallback.name, country: fallback.country };
      const input = await withActLog(store, config, async (acts) => {
        const shown = await serviceFor(store, config, acts).show(actor, id, CLI_CONTEXT);
        const recipient = (opts.recipient ?? (shown.kind === 'insider' ? 'third-party' : 'unknown')) as Recipient;
        return obligationsInput(store, shown, { recipient, controller, encrypted: opts.encrypted });
      });
      return obligationsFor(input, { rules, entities });
    });
    process.stdout.write(opts.json ? `${JSON.stringify(result, null, 2)}\n` : describeObligations(result));
  });

  asOption(storeOptions(
    incident
      .command('list')
      .description('incidents, newest first')
      .option('--state <state>', `only in this state (${INCIDENT_STATES.join(', ')})`)
      .option('--limit <n>', 'at most this many (default 50)')
      .option('--json', 'print JSON'),
  )).action(async (opts: Flags & { state?: string; limit?: string; json?: boolean }) => {
    const actor = actorOf(opts);
    const limit = opts.limit !== undefined ? Number(opts.limit) : 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new InvalidInputError('--limit must be a whole number from 1 to 1000', { field: 'limit' });
    const state = opts.state !== undefined ? stateOf(opts.state, 'state') : undefined;
    const page = await withIncidents(opts, (service) => service.list(actor, { limit, ...(state ? { state } : {}) }, CLI_CONTEXT));
    process.stdout.write(opts.json ? `${JSON.stringify(page, null, 2)}\n` : `${page.items.map((i) => `${i.id}  ${i.state.padEnd(9)}  ${i.kind.padEnd(8)}  ${i.subject ?? '-'}  ${i.title}`).join('\n')}\n`);
  });

  asOption(storeOptions(
    incident
      .command('transition')
      .description('move an incident on: open → contained → assessing → notifying → closed')
      .argument('<id>', 'incident id')
      .requiredOption('--to <state>', INCIDENT_STATES.join(' | '))
      .option('--note <text>', 'why, for the timeline'),
  )).action(async (id: string, opts: Flags & { to: string; note?: string }) => {
    const actor = actorOf(opts);
    const to = stateOf(opts.to, 'to');
    const moved = await withIncidents(opts, async (service) => {
      const result = await service.transition(actor, id, to, opts.note, CLI_CONTEXT);
      await reportWebhook(result);
      return result.incident;
    });
    process.stdout.write(`${moved.id} is ${moved.state}\n`);
  });

  asOption(storeOptions(
    incident
      .command('export')
      .description('write the evidence pack: the subject\'s events with inclusion proofs against a signed checkpoint, the verifier key, the blast radius, the timeline, and a README')
      .argument('<id>', 'incident id')
      .requiredOption('--out <dir>', 'directory to write: new or empty (created)'),
  )).action(async (id: string, opts: Flags & { out: string }) => {
    const actor = actorOf(opts);
    const written = await withStore(opts, async (store, config) => {
      // Recorded (and the timeline noted) first; closing the ledger writer then signs a
      // checkpoint that covers every event the pack holds.
      const contents: EvidenceContents = await withActLog(store, config, async (acts) => {
        const service = serviceFor(store, config, acts);
        const found = await service.note(actor, id, 'export', { out: opts.out }, CLI_CONTEXT);
        return gatherEvidence(store, found, await store.incidents.timeline(id));
      });
      const checkpoint = await store.ledger.latestCheckpoint();
      if (!checkpoint) throw new NotFoundError('no signed checkpoint: the ledger has none to prove against');
      const keys = (await loadSigningKeys(join(config.keyDir, SIGNING_KEY_FILE))).verifierKeys();
      return writeEvidencePack(store, contents, checkpoint, keys, opts.out);
    });
    process.stderr.write(`evidence pack for ${id}: ${written.events} event(s) with proofs in ${written.dir}; check it with: sh ${join(written.dir, 'verify.sh')}\n`);
  });
}
