/**
 * Text no request may carry: a lone UTF-16 surrogate (JSON allows "\ud800"; it has no UTF-8
 * form, so it cannot be canonicalized into a ledger entry), NUL (ends strings in C code and
 * some drivers), and bidirectional controls, which make a recorded id or field name read as
 * another in a log or a console ("Trojan Source"). The API checks every request with it
 * (api/unsafe-text.ts), and the event parser every ingested line.
 */
// Without the u flag a regex sees UTF-16 code units, which is what finds a lone surrogate.
const UNSAFE = /[\u0000\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

// What JSON text needs to hold for a value parsed from it to be unsafe: an unsafe character
// itself (any surrogate, paired or not, to keep the test simple) or a backslash (a \u escape).
const UNSAFE_IN_JSON = /[\\\u0000\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]/;

/**
 * False when no string or key parsed from the JSON text `json` can hold unsafe text (one test
 * of the raw line in place of a walk of the parsed value); true when it may.
 */
export function jsonMayHoldUnsafeText(json: string): boolean {
  return UNSAFE_IN_JSON.test(json);
}

/** What is wrong with `text`, or undefined when nothing is. */
export function unsafeCharacterIn(text: string): string | undefined {
  const m = UNSAFE.exec(text);
  if (!m) return undefined;
  const code = m[0].charCodeAt(0);
  const at = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  if (code === 0) return 'a NUL character (U+0000)';
  if (code >= 0xd800 && code <= 0xdfff) return `a lone UTF-16 surrogate (${at})`;
  return `a bidirectional control character (${at})`;
}

/** A name safe to echo in an error: unsafe characters written as \uXXXX. */
function printable(text: string): string {
  return text.replace(new RegExp(UNSAFE.source, 'g'), (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * The first string (value or object key) in `root` holding an unsafe character: its path in
 * the form error bodies name fields (`purpose.ref`, `fields.0`) and what is wrong. Walked with
 * an explicit stack, so a deeply nested body cannot overflow the call stack.
 */
export function findUnsafeText(root: unknown): { path: string; problem: string } | undefined {
  // Almost nothing holds unsafe text: a quick look first, the walk that names the path only if needed.
  if (!holdsUnsafeText(root, 0)) return undefined;
  const pending: Array<[unknown, string]> = [[root, '']];
  const under = (path: string, key: string) => (path ? `${path}.${key}` : key);
  while (pending.length > 0) {
    const [value, path] = pending.pop()!;
    if (typeof value === 'string') {
      const problem = unsafeCharacterIn(value);
      if (problem) return { path, problem: `holds ${problem}` };
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) pending.push([value[i], under(path, String(i))]);
    } else if (typeof value === 'object' && value !== null) {
      const entries = Object.entries(value);
      for (const [key] of entries) {
        const problem = unsafeCharacterIn(key);
        if (problem) return { path: under(path, printable(key)), problem: `has a name that holds ${problem}` };
      }
      for (let i = entries.length - 1; i >= 0; i--) pending.push([entries[i]![1], under(path, entries[i]![0])]);
    }
  }
  return undefined;
}

/** Whether any string or key under `value` is unsafe; past a depth, says yes and lets the walk decide. */
function holdsUnsafeText(value: unknown, depth: number): boolean {
  if (typeof value === 'string') return UNSAFE.test(value);
  if (typeof value !== 'object' || value === null) return false;
  if (depth > 32) return true;
  if (Array.isArray(value)) {
    for (const item of value) if (holdsUnsafeText(item, depth + 1)) return true;
    return false;
  }
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    if (UNSAFE.test(key) || holdsUnsafeText((value as Record<string, unknown>)[key], depth + 1)) return true;
  }
  return false;
}
