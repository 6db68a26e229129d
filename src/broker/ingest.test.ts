import { describe, expect, it } from 'vitest';
import { parseAccessEvent, parseAccessEventInput } from '../model.ts';
import { ingestedEvent } from './ingest.ts';

const base = { time: '2026-03-02T09:00:00+01:00', actor: 'emp-1', action: 'reveal', customers: ['cus-1'], fields: ['email'], decision: 'allow' };

describe('access events from another system', () => {
  it('keeps a missing id missing, the time in UTC, and unknown fields in details', () => {
    const e = parseAccessEventInput({ ...base, ticket: 'T-9', tags: ['a', 'b'], details: { app: 'crm' } });
    expect(e.id).toBeUndefined();
    expect(e.time).toBe('2026-03-02T08:00:00.000Z');
    expect(e.details).toEqual({ app: 'crm', ticket: 'T-9', tags: '["a","b"]' });
  });

  it('names an event without an id by its place when read from a file', () => {
    expect(parseAccessEvent(base, { file: 'events.jsonl', line: 7 }).id).toBe('events.jsonl:7');
    expect(parseAccessEvent({ ...base, id: 'ev-1' }, { file: 'events.jsonl', line: 7 }).id).toBe('ev-1');
  });

  it('checks what Custos records itself, naming the field', () => {
    const field = (raw: unknown) => {
      try {
        parseAccessEventInput(raw, { line: 3 });
      } catch (err) {
        return (err as { where?: { field?: string; line?: number } }).where;
      }
      return undefined;
    };
    expect(field({ ...base, change: { role: { before: 'agent', after: 4 } } })).toEqual({ line: 3, field: 'change.role.after' });
    expect(field({ ...base, search: { kind: 'email', hash: 'zz', hits: 1 } })).toEqual({ line: 3, field: 'search.hash' });
    expect(field({ ...base, target: { type: 'planet', id: 'x' } })).toEqual({ line: 3, field: 'target.type' });
    expect(field({ ...base, details: { nested: { a: 1 } } })).toEqual({ line: 3, field: 'details.nested' });
    expect(field(JSON.parse(`{"time":"2026-03-02T09:00:00Z","actor":"emp-1","action":"view","customers":[],"fields":[],"decision":"allow","__proto__":{"x":1}}`))).toEqual({ line: 3, field: '__proto__' });
    expect(field({ ...base, fields: undefined })).toEqual({ line: 3, field: 'fields' });
  });

  it('marks an ingested event so that no source can pass it off as not ingested', () => {
    const e = ingestedEvent(parseAccessEventInput({ ...base, details: { ingested: false, source: 'custos', ingestAct: 1 } }), { source: 'crm', act: 41 });
    expect(e.details).toMatchObject({ ingested: true, source: 'crm', ingestAct: 41 });
    expect(e.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(e.actor).toBe('emp-1');
  });
});
