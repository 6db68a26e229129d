/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): one byte string per JSON value, so a ledger
 * entry hashes the same wherever it is re-encoded. Only plain JSON data is accepted; anything
 * JSON.stringify would silently coerce (Date, Map, NaN, undefined in arrays) is refused.
 */
import { InvalidInputError } from '../errors.ts';

// Lone surrogates cannot be encoded as UTF-8; RFC 8785 §3.2.2.2 requires valid Unicode strings.
const LONE_SURROGATE = /\p{Surrogate}/u;

/** The canonical UTF-8 bytes of a JSON value. Throws InvalidInputError naming the offending path. */
export function canonicalJson(value: unknown): Buffer {
  return Buffer.from(canonicalJsonText(value, '$', new Set()), 'utf8');
}

function canonicalJsonText(value: unknown, path: string, ancestors: Set<object>): string {
  switch (typeof value) {
    case 'string':
      return canonicalString(value, path);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      // RFC 8785 §3.2.2.3: ECMAScript Number serialization, which JSON.stringify implements (-0 → "0").
      if (!Number.isFinite(value)) throw new InvalidInputError(`${path}: ${value} has no JSON form`, { field: path });
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw new InvalidInputError(`${path}: a ${typeof value} is not JSON data`, { field: path });
  }
  if (value === null) return 'null';
  if (ancestors.has(value)) throw new InvalidInputError(`${path}: the value contains itself`, { field: path });
  ancestors.add(value);
  try {
    if (Array.isArray(value)) return canonicalArray(value, path, ancestors);
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw new InvalidInputError(`${path}: only plain objects are JSON data, got ${describeObject(value)}`, { field: path });
    }
    return canonicalObject(value as Record<string, unknown>, path, ancestors);
  } finally {
    ancestors.delete(value);
  }
}

function canonicalArray(items: readonly unknown[], path: string, ancestors: Set<object>): string {
  const parts: string[] = [];
  for (let i = 0; i < items.length; i++) {
    // A hole or undefined would become "null" under JSON.stringify; refuse rather than guess.
    if (!(i in items) || items[i] === undefined) {
      throw new InvalidInputError(`${path}[${i}]: undefined is not JSON data`, { field: `${path}[${i}]` });
    }
    parts.push(canonicalJsonText(items[i], `${path}[${i}]`, ancestors));
  }
  return `[${parts.join(',')}]`;
}

function canonicalObject(object: Record<string, unknown>, path: string, ancestors: Set<object>): string {
  if (Object.getOwnPropertySymbols(object).length > 0) {
    throw new InvalidInputError(`${path}: symbol keys are not JSON data`, { field: path });
  }
  // RFC 8785 §3.2.3: sort by UTF-16 code units, which is what the default string comparison does.
  const keys = Object.keys(object).sort();
  const parts: string[] = [];
  for (const key of keys) {
    const member = object[key];
    if (member === undefined) continue;
    const memberPath = `${path}.${key}`;
    parts.push(`${canonicalString(key, memberPath)}:${canonicalJsonText(member, memberPath, ancestors)}`);
  }
  return `{${parts.join(',')}}`;
}

function canonicalString(text: string, path: string): string {
  if (LONE_SURROGATE.test(text)) throw new InvalidInputError(`${path}: string contains a lone UTF-16 surrogate`, { field: path });
  // RFC 8785 §3.2.2.2: exactly the escaping of ECMAScript JSON.stringify.
  return JSON.stringify(text);
}

function describeObject(value: object): string {
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' ? `a ${name}` : 'an object with a custom prototype';
}
