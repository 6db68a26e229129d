/**
 * Exposures: one row per (event, customer) of an allowed reveal or export that returned fields
 * in clear, with who, when, which fields and what purpose. Blast radius and attribution count
 * nothing else, so the access-event index keeps these facts in its own rows (fields as bits of
 * a small name table, the purpose, the event's customers) and answers them without reading a
 * single ledger entry.
 *
 * A page is columnar (typed arrays indexing small dictionaries), so tens of thousands of rows
 * cross from the index worker as a few buffers rather than as one object each.
 */
import { IntegrityError } from '../errors.ts';
import type { Purpose } from '../model.ts';

/** The events that expose data: allowed ones of these actions that returned fields in clear, about some customer. */
export const EXPOSING_ACTIONS = ['reveal', 'export'] as const;

/** Where the next page starts: after (key, seq), key being the time (by actor) or the customer (by customers). */
export interface ExposureCursor {
  key: number | string;
  seq: number;
}

export interface ExposurePage {
  length: number;
  /** Per row: the event's ledger index (rows of one event are adjacent), its time, and indexes into the dictionaries below. */
  seq: Float64Array;
  timeMs: Float64Array;
  customer: Int32Array;
  actor: Int32Array;
  fieldSet: Int32Array;
  /** -1: no purpose. */
  purpose: Int32Array;
  customers: string[];
  actors: string[];
  /** Distinct sets of fields returned, each sorted. */
  fieldSets: string[][];
  purposes: Purpose[];
  /** Absent on the last page. */
  next?: ExposureCursor;
}

/** Builds a page row by row, interning the repeated strings. */
export class ExposurePageBuilder {
  private seq: number[] = [];
  private timeMs: number[] = [];
  private customer: number[] = [];
  private actor: number[] = [];
  private fieldSet: number[] = [];
  private purpose: number[] = [];
  private readonly customers = new Interned<string>();
  private readonly actors = new Interned<string>();
  private readonly fieldSets = new Interned<string[]>();
  private readonly purposes: Purpose[] = [];
  private readonly purposeIds = new Map<string, Map<string, number>>();

  get length(): number {
    return this.seq.length;
  }

  /**
   * `fieldsKey` names the set of fields (the index's bits, or any string); `fields()` gives it,
   * sorted, the first time the key is met. No purpose kind: no purpose.
   */
  add(seq: number, timeMs: number, customer: string, actor: string, fieldsKey: string | number, fields: () => string[], purposeKind: string | undefined, purposeRef: string): void {
    this.seq.push(seq);
    this.timeMs.push(timeMs);
    this.customer.push(this.customers.id(customer, customer));
    this.actor.push(this.actors.id(actor, actor));
    this.fieldSet.push(this.fieldSets.id(fieldsKey, fields));
    if (purposeKind === undefined) {
      this.purpose.push(-1);
    } else {
      let ofKind = this.purposeIds.get(purposeKind);
      if (!ofKind) this.purposeIds.set(purposeKind, (ofKind = new Map()));
      let id = ofKind.get(purposeRef);
      if (id === undefined) ofKind.set(purposeRef, (id = this.purposes.push({ kind: purposeKind, ref: purposeRef }) - 1));
      this.purpose.push(id);
    }
  }

  build(next?: ExposureCursor): ExposurePage {
    return {
      length: this.seq.length,
      seq: Float64Array.from(this.seq),
      timeMs: Float64Array.from(this.timeMs),
      customer: Int32Array.from(this.customer),
      actor: Int32Array.from(this.actor),
      fieldSet: Int32Array.from(this.fieldSet),
      purpose: Int32Array.from(this.purpose),
      customers: this.customers.values,
      actors: this.actors.values,
      fieldSets: this.fieldSets.values,
      purposes: this.purposes,
      ...(next ? { next } : {}),
    };
  }
}

class Interned<T> {
  readonly values: T[] = [];
  private readonly ids = new Map<string | number, number>();

  /** The id of `key`, interning `value` (or what it gives) the first time. */
  id(key: string | number, value: T | (() => T)): number {
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.values.push(typeof value === 'function' ? (value as () => T)() : value) - 1;
      this.ids.set(key, id);
    }
    return id;
  }
}

/** The index's `customers` column: the one id, or a JSON array (none, several, or an id that looks like one). */
export function customersColumn(customers: readonly string[]): string {
  return customers.length === 1 && !customers[0]!.startsWith('[') ? customers[0]! : JSON.stringify(customers);
}

export function customersFromColumn(value: string): string[] {
  return value.startsWith('[') ? (JSON.parse(value) as string[]) : [value];
}

/** Bits a field mask may use: JavaScript's bitwise operators hold 31 without a sign. */
export const FIELD_BITS = 31;

/**
 * The index's field names (access_event_fields) as the projection assigns them: a name met for
 * the first time takes the next free bit; once all are taken, further names go to fields_extra.
 */
export class FieldNames {
  private readonly bits = new Map<string, number>();
  /** Names given a bit by this instance, to be stored with the rows that use them. */
  readonly added: Array<{ bit: number; name: string }> = [];

  constructor(known: ReadonlyArray<{ bit: number; name: string }>) {
    for (const k of known) this.bits.set(k.name, Number(k.bit));
  }

  columns(fields: readonly string[]): { fields: number; fields_extra: string | null } {
    let mask = 0;
    let extra: string[] | undefined;
    for (const name of fields) {
      let bit = this.bits.get(name);
      if (bit === undefined && this.bits.size < FIELD_BITS) {
        bit = this.bits.size;
        this.bits.set(name, bit);
        this.added.push({ bit, name });
      }
      if (bit !== undefined) mask |= 1 << bit;
      else if (!(extra ??= []).includes(name)) extra.push(name);
    }
    return { fields: mask >>> 0, fields_extra: extra ? JSON.stringify(extra.sort()) : null };
  }
}

/** Field names back from the index's columns, sorted: `names[bit]` is the name of each bit. */
export function fieldsFromColumns(mask: number, extra: string | null, names: readonly string[]): string[] {
  const out: string[] = [];
  for (let bit = 0; bit < FIELD_BITS; bit++) {
    if (((mask >>> bit) & 1) === 0) continue;
    const name = names[bit];
    if (name === undefined) throw new IntegrityError(`the access-event index has a field bit ${bit} with no name in access_event_fields`);
    out.push(name);
  }
  if (extra !== null) out.push(...(JSON.parse(extra) as string[]));
  return out.sort();
}
