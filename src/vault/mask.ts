/**
 * Masked forms of PII fields, computed at seal time so a masked view never unwraps a key.
 *
 * A mask shows at most the characters its rule names and never the length of what it hides
 * (every hidden run is "***"). Shown "characters" are single code points after NFC, and only
 * letters or digits: a mark, symbol or control character (a bidi override, say) is hidden too.
 * Empty or malformed values mask to "***" and reveal nothing.
 *
 *   email   j***@m***.example     first of local part, first of first domain label, the TLD
 *   phone   +1 ***-***-4567       calling code and last 4 digits of the national number,
 *                                 or "+354 ***-***-****" when it has under 8 digits (never half)
 *   name    J*** D***             first of each word
 *   other   A***                  first character, or "***" under 6 characters
 */
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';

const HIDDEN = '***';
const SHOWABLE_RE = /^[\p{L}\p{N}]$/u;
// A TLD is letters (IDN TLDs are letters too) or its punycode form; anything else is hidden.
const TLD_RE = /^(?:\p{L}{2,63}|xn--[a-z0-9-]{1,59})$/iu;
const PHONE_TAIL_DIGITS = 4;
const PHONE_MIN_DIGITS_FOR_TAIL = 8;
const GENERIC_MIN_CHARS = 6;

function clean(value: unknown): string {
  return typeof value === 'string' ? value.trim().normalize('NFC') : '';
}

/** The first code point when it is a letter or digit, else nothing. */
function initial(s: string): string {
  const first = s.codePointAt(0);
  if (first === undefined) return '';
  const ch = String.fromCodePoint(first);
  return SHOWABLE_RE.test(ch) ? ch : '';
}

export function maskEmail(value: string): string {
  const v = clean(value);
  const at = v.lastIndexOf('@');
  if (at <= 0 || at === v.length - 1 || /\s/u.test(v)) return HIDDEN;
  const labels = v.slice(at + 1).split('.');
  if (labels.some((l) => l === '')) return HIDDEN;
  const local = `${initial(v)}${HIDDEN}`;
  const first = `${initial(labels[0]!)}${HIDDEN}`;
  if (labels.length === 1) return `${local}@${first}`;
  const tld = labels[labels.length - 1]!;
  return `${local}@${first}.${TLD_RE.test(tld) ? tld : HIDDEN}`;
}

/** `country` reads a national number (one not written +…); stored phones are already E.164. */
export function maskPhone(value: string, country?: string): string {
  const v = clean(value);
  if (v === '') return HIDDEN;
  let parsed;
  try {
    parsed = parsePhoneNumberFromString(v, country as CountryCode | undefined);
  } catch {
    return HIDDEN;
  }
  if (!parsed || !parsed.isPossible()) return HIDDEN;
  const digits = parsed.nationalNumber;
  // Count what was given, too: libphonenumber may lengthen a short number (San Marino's
  // "+378 800000" becomes 0549 800000), and four of six given digits is too many to show.
  const given = v.replace(/\D/g, '').length - (/^(\+|00)/.test(v) ? parsed.countryCallingCode.length : 0);
  const showTail = Math.min(digits.length, given) >= PHONE_MIN_DIGITS_FOR_TAIL;
  const tail = showTail ? digits.slice(-PHONE_TAIL_DIGITS) : '*'.repeat(PHONE_TAIL_DIGITS);
  return `+${parsed.countryCallingCode} ***-***-${tail}`;
}

export function maskName(value: string): string {
  const words = clean(value).split(/\s+/u).filter((w) => w !== '');
  if (words.length === 0) return HIDDEN;
  return words.map((w) => `${initial(w)}${HIDDEN}`).join(' ');
}

/** Any other field: its first character, and only when there is enough left to hide. */
export function maskGeneric(value: string): string {
  const v = clean(value);
  let count = 0;
  for (const _ of v) if (++count >= GENERIC_MIN_CHARS) break;
  return count >= GENERIC_MIN_CHARS ? `${initial(v)}${HIDDEN}` : HIDDEN;
}

/** The masked form of a PII field by its name; `country` helps read a national phone number. */
export function maskField(field: string, value: string, country?: string): string {
  switch (field) {
    case 'email':
      return maskEmail(value);
    case 'phone':
      return maskPhone(value, country);
    case 'name':
      return maskName(value);
    default:
      return maskGeneric(value);
  }
}
