import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../errors.ts';
import { canonicalJson } from './canonical-json.ts';

const text = (value: unknown): string => canonicalJson(value).toString('utf8');

describe('canonicalJson (RFC 8785)', () => {
  it('reproduces the RFC 8785 §3.2.2 example', () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
    );
    expect(text(input)).toBe('{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}');
  });

  it('sorts keys by UTF-16 code units (RFC 8785 §3.2.3 example)', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    // (Not via Object.keys: JavaScript lists integer-like keys such as "1" first.)
    const order = ['\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33'] as const;
    expect(text(input)).toBe(`{${order.map((k) => `${JSON.stringify(k)}:${JSON.stringify(input[k])}`).join(',')}}`);
  });

  it('serializes numbers as ECMAScript does', () => {
    expect(text([0, -0, 1e21, 1e-7, 0.000001, 123456789012345680000, 5e-324, -1.5])).toBe('[0,0,1e+21,1e-7,0.000001,123456789012345680000,5e-324,-1.5]');
  });

  it('emits UTF-8 with no whitespace and omits undefined properties', () => {
    const bytes = canonicalJson({ b: [1, { d: 'é', c: undefined }], a: null });
    expect(bytes.toString('utf8')).toBe('{"a":null,"b":[1,{"d":"é"}]}');
    expect(bytes.length).toBe(Buffer.byteLength('{"a":null,"b":[1,{"d":"é"}]}'));
  });

  it('accepts null-prototype objects and nested empties', () => {
    const bare = Object.assign(Object.create(null) as object, { z: {}, y: [] });
    expect(text(bare)).toBe('{"y":[],"z":{}}');
  });

  it('is the same for the same data however it was built', () => {
    expect(canonicalJson({ x: 1, y: [true, 'a'] })).toEqual(canonicalJson(JSON.parse('{ "y" : [ true , "a" ] , "x" : 1.0 }')));
  });

  it.each([
    ['NaN', { n: Number.NaN }, '$.n'],
    ['Infinity', [Number.POSITIVE_INFINITY], '$[0]'],
    ['undefined in an array', [1, undefined], '$[1]'],
    ['an array hole', [1, , 3], '$[1]'],
    ['a Date', { when: new Date(0) }, '$.when'],
    ['a Map', { m: new Map() }, '$.m'],
    ['a bigint', { big: 1n }, '$.big'],
    ['a function', { f: () => 1 }, '$.f'],
    ['a symbol value', { s: Symbol('x') }, '$.s'],
    ['a class instance', { o: new (class Point {})() }, '$.o'],
    ['a lone surrogate', { s: 'a\ud800' }, '$.s'],
    ['a lone surrogate in a key', { '\udc00': 1 }, '$.\udc00'],
    ['top-level undefined', undefined, '$'],
  ])('refuses %s, naming the path', (_, value, field) => {
    try {
      canonicalJson(value);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidInputError);
      expect((err as InvalidInputError).where?.field).toBe(field);
    }
  });

  it('refuses symbol keys and cycles', () => {
    expect(() => canonicalJson({ [Symbol('k')]: 1 })).toThrow(InvalidInputError);
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = { back: cyclic };
    expect(() => canonicalJson(cyclic)).toThrow(/contains itself/);
  });

  it('allows the same object twice when it is not a cycle', () => {
    const shared = { k: 1 };
    expect(text({ a: shared, b: shared })).toBe('{"a":{"k":1},"b":{"k":1}}');
  });
});
