/**
 * `custos import customers|employees|cases FILE`: stream, validate, seal, upsert in batches.
 * Idempotent by id. A bad line stops the import with its file, line and field (what came
 * before it is kept), or with skipBad is reported and passed over.
 */
import { InvalidInputError } from '../errors.ts';
import { parseCase, parseCustomer, parseEmployee, type CaseRecord, type CustomerInput, type Employee } from '../model.ts';
import type { Store } from '../store/store.ts';
import { formatOf, readRecords, UnreadableLine } from './read-records.ts';

export const IMPORT_KINDS = ['customers', 'employees', 'cases'] as const;
export type ImportKind = (typeof IMPORT_KINDS)[number];

/** Seals and stores a batch of customers (the vault's, with the rotation fence: broker/customer-writes.ts). */
export type CustomerWriter = (inputs: CustomerInput[], now: Date) => Promise<void>;

export interface ImportOptions {
  kind: ImportKind;
  file: string;
  format?: string;
  skipBad: boolean;
  batchSize?: number;
  now: () => Date;
  /** Called for each bad line passed over with skipBad. */
  onSkipped?: (err: InvalidInputError) => void;
  /** Called with the counts so far after each batch is written and each line skipped, so a caller knows them when the import stops. */
  onProgress?: (counts: { imported: number; skipped: number }) => void;
}

export interface ImportSummary {
  kind: ImportKind;
  file: string;
  imported: number;
  skipped: number;
}

const MAX_BATCH = 1000;

interface Pending<T> {
  line: number;
  record: T;
}

export async function importFile(store: Store, writeCustomers: CustomerWriter, opts: ImportOptions): Promise<ImportSummary> {
  if (!(IMPORT_KINDS as readonly string[]).includes(opts.kind)) {
    throw new InvalidInputError(`unknown import kind "${opts.kind}"; expected one of ${IMPORT_KINDS.join(', ')}`, { field: 'kind' });
  }
  const format = formatOf(opts.file, opts.format);
  const batchSize = Math.min(opts.batchSize ?? MAX_BATCH, MAX_BATCH);
  const summary: ImportSummary = { kind: opts.kind, file: opts.file, imported: 0, skipped: 0 };
  let batch: Pending<CustomerInput | Employee | CaseRecord>[] = [];

  const reject = async (err: InvalidInputError): Promise<void> => {
    if (opts.skipBad) {
      summary.skipped++;
      opts.onSkipped?.(err);
      progress();
      return;
    }
    await flush();
    throw new InvalidInputError(`${err.message} (${summary.imported} records before it were imported; re-importing is safe)`, err.where);
  };

  const progress = (): void => opts.onProgress?.({ imported: summary.imported, skipped: summary.skipped });

  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    let accepted = batch;
    batch = [];
    let firstBad: InvalidInputError | undefined;
    if (opts.kind === 'cases') {
      const bad = await caseReferenceErrors(store, accepted as Pending<CaseRecord>[], opts.file);
      if (bad.size > 0) {
        const badLines = [...bad.keys()];
        if (opts.skipBad) {
          for (const err of bad.values()) {
            summary.skipped++;
            opts.onSkipped?.(err);
          }
          progress();
          accepted = accepted.filter((p) => !bad.has(p.line));
        } else {
          // Keep what came before the first bad line, as for any other bad line.
          const first = Math.min(...badLines);
          firstBad = bad.get(first);
          accepted = accepted.filter((p) => p.line < first);
        }
      }
    }
    const now = opts.now();
    // One id twice in a batch would make the upsert touch a row twice; the later line wins.
    const records = [...new Map(accepted.map((p) => [p.record.id, p.record])).values()];
    if (opts.kind === 'customers') await writeCustomers(records as CustomerInput[], now);
    else if (opts.kind === 'employees') await store.employees.upsertMany(records as Employee[], now);
    else await store.cases.upsertMany(records as CaseRecord[], now);
    summary.imported += accepted.length;
    progress();
    if (firstBad) await reject(firstBad);
  };

  const parse = opts.kind === 'customers' ? parseCustomer : opts.kind === 'employees' ? parseEmployee : parseCase;
  for await (const item of readRecords(opts.file, format)) {
    if (item instanceof UnreadableLine) {
      await reject(new InvalidInputError(`${opts.file}:${item.line}: ${item.message}`, { file: opts.file, line: item.line }));
      continue;
    }
    try {
      batch.push({ line: item.line, record: parse(item.value, { file: opts.file, line: item.line }) });
    } catch (err) {
      if (!(err instanceof InvalidInputError)) throw err;
      await reject(err);
      continue;
    }
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  return summary;
}

/** A case must name an existing employee and customer: a purpose that points nowhere is a data error. */
async function caseReferenceErrors(store: Store, batch: Pending<CaseRecord>[], file: string): Promise<Map<number, InvalidInputError>> {
  const employees = await store.employees.existingIds([...new Set(batch.map((p) => p.record.employee))]);
  const customers = await store.customers.existingIds([...new Set(batch.map((p) => p.record.customer))]);
  const bad = new Map<number, InvalidInputError>();
  for (const p of batch) {
    const field = !employees.has(p.record.employee) ? 'employee' : !customers.has(p.record.customer) ? 'customer' : undefined;
    if (!field) continue;
    // The id is not echoed: a file with shifted columns may hold an e-mail here.
    bad.set(p.line, new InvalidInputError(`${file}:${p.line}: field "${field}": no such ${field} (import ${field}s first)`, { file, line: p.line, field }));
  }
  return bad;
}
