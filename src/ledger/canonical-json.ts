/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): one byte string per JSON value, so a ledger
 * entry hashes the same wherever it is re-encoded. Only plain JSON data is accepted; anything
 * JSON.stringify would silently coerce (Date, Map, NaN, undefined in arrays) is refused.
 */
import { InvalidInputError } from '../errors.ts';

declare global {
  interface String {
    /** ES2024 (Node 20): false when the string holds a lone UTF-16 surrogate. */
    isWellFormed(): boolean;
  }
}

/** The canonical UTF-8 bytes of a JSON value. Throws InvalidInputError naming the offending path. */
export function canonicalJson(value: unknown): Buffer {
  return Buffer.from(canonicalJsonText(value, [], []), 'utf8');
}

/**
 * Where a value sits, as the keys and indexes leading to it. Kept as a stack and turned into
 * `$.a[0].b` only for an error message: every entry of every reveal is encoded here.
 */
type Path = Array<string | number>;

function pathText(path: Path): string {
  let text = '$';
  for (const step of path) text += typeof step === 'number' ? `[${step}]` : `.${step}`;
  return text;
}

function refuse(path: Path, what: string): never {
  const at = pathText(path);
  throw new InvalidInputError(`${at}: ${what}`, { field: at });
}

/**
 * The objects and arrays enclosing the value being encoded. An array: JSON data is a few levels
 * deep, and every entry of every reveal passes here.
 */
type Ancestors = object[];

function canonicalJsonText(value: unknown, path: Path, ancestors: Ancestors): string {
  switch (typeof value) {
    case 'string':
      return canonicalString(value, path);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      // RFC 8785 §3.2.2.3: ECMAScript Number serialization, which JSON.stringify implements (-0 → "0").
      if (!Number.isFinite(value)) refuse(path, `${value} has no JSON form`);
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      refuse(path, `a ${typeof value} is not JSON data`);
  }
  if (value === null) return 'null';
  if (ancestors.includes(value)) refuse(path, 'the value contains itself');
  ancestors.push(value);
  try {
    if (Array.isArray(value)) return canonicalArray(value, path, ancestors);
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) refuse(path, `only plain objects are JSON data, got ${describeObject(value)}`);
    return canonicalObject(value as Record<string, unknown>, path, ancestors);
  } finally {
    ancestors.pop();
  }
}

function canonicalArray(items: readonly unknown[], path: Path, ancestors: Ancestors): string {
  let text = '[';
  for (let i = 0; i < items.length; i++) {
    path.push(i);
    // A hole or undefined would become "null" under JSON.stringify; refuse rather than guess.
    if (!(i in items) || items[i] === undefined) refuse(path, 'undefined is not JSON data');
    text += (i > 0 ? ',' : '') + canonicalJsonText(items[i], path, ancestors);
    path.pop();
  }
  return `${text}]`;
}

function canonicalObject(object: Record<string, unknown>, path: Path, ancestors: Ancestors): string {
  if (Object.getOwnPropertySymbols(object).length > 0) refuse(path, 'symbol keys are not JSON data');
  // RFC 8785 §3.2.3: sort by UTF-16 code units, which is what the default string comparison does.
  const keys = Object.keys(object).sort();
  let text = '{';
  let first = true;
  for (const key of keys) {
    const member = object[key];
    if (member === undefined) continue;
    path.push(key);
    text += `${first ? '' : ','}${canonicalString(key, path)}:${canonicalJsonText(member, path, ancestors)}`;
    path.pop();
    first = false;
  }
  return `${text}}`;
}

function canonicalString(text: string, path: Path): string {
  // Lone surrogates cannot be encoded as UTF-8; RFC 8785 §3.2.2.2 requires valid Unicode strings.
  if (!text.isWellFormed()) refuse(path, 'string contains a lone UTF-16 surrogate');
  // RFC 8785 §3.2.2.2: exactly the escaping of ECMAScript JSON.stringify.
  return JSON.stringify(text);
}

function describeObject(value: object): string {
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' ? `a ${name}` : 'an object with a custom prototype';
}
