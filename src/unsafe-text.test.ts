import { describe, expect, it } from 'vitest';
import { findUnsafeText, jsonMayHoldUnsafeText, unsafeCharacterIn } from './unsafe-text.ts';

describe('unsafe text', () => {
  it('finds NUL, lone surrogates of either half and every bidirectional control', () => {
    expect(unsafeCharacterIn('a\u0000b')).toMatch(/NUL/);
    expect(unsafeCharacterIn('\ud800')).toMatch(/lone UTF-16 surrogate \(U\+D800\)/);
    expect(unsafeCharacterIn('x\udc00')).toMatch(/U\+DC00/);
    for (const c of ['\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069', '\u200e', '\u200f', '\u061c']) {
      expect(unsafeCharacterIn(`cus-${c}1`), c.charCodeAt(0).toString(16)).toMatch(/bidirectional control/);
    }
  });

  it('lets ordinary text through, paired surrogates (emoji) and accents included', () => {
    for (const ok of ['cus-000001', 'josé@example.com', 'Ωμέγα', '😀', 'شيماء', '\u200d']) expect(unsafeCharacterIn(ok), ok).toBeUndefined();
  });

  it('names the first bad value or key by its path, as error bodies name fields', () => {
    expect(findUnsafeText({ fields: ['email', 'ph\u0000one'], purpose: { kind: 'case', ref: 'c' } })).toEqual({ path: 'fields.1', problem: 'holds a NUL character (U+0000)' });
    expect(findUnsafeText({ purpose: { kind: 'case', ref: 'case-\u202e1' } })?.path).toBe('purpose.ref');
    expect(findUnsafeText({ purpose: { 'r\u202eef': 'x' } })).toEqual({ path: 'purpose.r\\u202eef', problem: 'has a name that holds a bidirectional control character (U+202E)' });
    expect(findUnsafeText('\ud800')).toEqual({ path: '', problem: 'holds a lone UTF-16 surrogate (U+D800)' });
    expect(findUnsafeText({ a: [1, true, null, { b: 'fine' }] })).toBeUndefined();
    expect(findUnsafeText(undefined)).toBeUndefined();
  });

  it('says JSON text may hold unsafe text whenever a value parsed from it does', () => {
    // Escaped (the usual way such text arrives) and raw, in a value and in a key.
    for (const json of ['{"a":"x\\u202e"}', '{"a":"x\\u0000"}', '{"a":"\\ud800"}', '{"a\\u2066":1}', '{"a":"x\u202e"}', '{"a":"\u061c"}', `{"a":"${'\ud800'}"}`]) {
      expect(findUnsafeText(JSON.parse(json)), json).toBeDefined();
      expect(jsonMayHoldUnsafeText(json), json).toBe(true);
    }
    for (const json of ['{"id":"ev-1","customers":["cus-000001"],"name":"josé Ωμέγα"}', '{"a":"\u200d"}']) expect(jsonMayHoldUnsafeText(json), json).toBe(false);
  });

  it('walks a deeply nested body without overflowing the stack', () => {
    let deep: unknown = 'x\u0000';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(findUnsafeText(deep)?.problem).toMatch(/NUL/);
  });
});
