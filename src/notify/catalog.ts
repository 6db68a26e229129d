/**
 * The notice's words: one ICU MessageFormat catalog per locale (locales/notice/<locale>.json),
 * compiled once per message. Adding a language is adding a file; English is the last resort
 * of every fallback chain.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IntlMessageFormat } from 'intl-messageformat';
import { ConfigError } from '../errors.ts';

export const DEFAULT_CATALOG_DIR = fileURLToPath(new URL('../../locales/notice/', import.meta.url));
export const LAST_RESORT_LOCALE = 'en';

/** The language spoken where a customer without a locale lives; anywhere else, English. */
const COUNTRY_LOCALES: Readonly<Record<string, string>> = {
  FR: 'fr', BE: 'fr', LU: 'fr', MC: 'fr', IT: 'it', SM: 'it', VA: 'it', ID: 'id', DE: 'de', AT: 'de', LI: 'de',
  ES: 'es', MX: 'es', AR: 'es', CO: 'es', CL: 'es', PE: 'es', BR: 'pt-BR', PT: 'pt', AO: 'pt', MZ: 'pt', JP: 'ja',
};

export type MessageValues = Record<string, string | number>;

export class NoticeCatalogs {
  private readonly messages = new Map<string, Record<string, string>>();
  private readonly compiled = new Map<string, IntlMessageFormat>();
  /** Resolved locale per requested (locale, country): few distinct, asked once per notice. */
  private readonly resolved = new Map<string, string>();

  constructor(readonly dir: string = DEFAULT_CATALOG_DIR) {
    let files: string[];
    try {
      files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    } catch (err) {
      throw new ConfigError(`notice catalogs: cannot read ${dir}: ${(err as Error).message}`);
    }
    for (const f of files) {
      const file = join(dir, f);
      let parsed: unknown;
      try {
        parsed = JSON.parse(readFileSync(file, 'utf8'));
      } catch (err) {
        throw new ConfigError(`${file}: not JSON: ${(err as Error).message}`);
      }
      const locale = Intl.getCanonicalLocales(f.slice(0, -'.json'.length))[0]!;
      const entries = Object.entries(parsed as Record<string, unknown>).filter(([k]) => !k.startsWith('$'));
      for (const [k, v] of entries) if (typeof v !== 'string') throw new ConfigError(`${file}: "${k}" must be a string`);
      this.messages.set(locale, Object.fromEntries(entries) as Record<string, string>);
    }
    if (!this.messages.has(LAST_RESORT_LOCALE)) throw new ConfigError(`notice catalogs: ${dir} has no ${LAST_RESORT_LOCALE}.json, the last resort of every locale`);
    // Compile everything now: a message that does not parse stops start-up, not a send.
    for (const [locale, msgs] of this.messages) for (const key of Object.keys(msgs)) this.compile(locale, key, file(dir, locale));
  }

  locales(): string[] {
    return [...this.messages.keys()].sort();
  }

  /** Keys of the English catalog: every other catalog must have them all (a test checks). */
  keys(locale: string = LAST_RESORT_LOCALE): string[] {
    return Object.keys(this.messages.get(locale) ?? {});
  }

  /**
   * The catalog for a customer: their locale, then its language alone (it-IT → it), then a
   * regional catalog of that language (pt → pt-BR), then English. A customer without a locale
   * gets the language of their country.
   */
  localeFor(locale: string | null, country: string): string {
    const key = `${locale ?? ''}|${country}`;
    let found = this.resolved.get(key);
    if (found === undefined) {
      found = this.fallbackChain(locale ?? COUNTRY_LOCALES[country] ?? LAST_RESORT_LOCALE).find((l) => this.messages.has(l)) ?? LAST_RESORT_LOCALE;
      this.resolved.set(key, found);
    }
    return found;
  }

  /** Candidates in order for `locale`, ending with English. */
  fallbackChain(locale: string): string[] {
    let canonical: string;
    try {
      canonical = Intl.getCanonicalLocales(locale)[0]!;
    } catch {
      return [LAST_RESORT_LOCALE];
    }
    const language = new Intl.Locale(canonical).language;
    const regional = [...this.messages.keys()].filter((l) => l !== language && new Intl.Locale(l).language === language).sort();
    return [...new Set([canonical, language, ...regional, LAST_RESORT_LOCALE])];
  }

  /** The message `key` of `locale` (English where the catalog lacks it), formatted. */
  format(locale: string, key: string, values: MessageValues = {}): string {
    const compiled = this.compiled.get(`${locale}\0${key}`) ?? this.compiled.get(`${LAST_RESORT_LOCALE}\0${key}`);
    if (!compiled) throw new ConfigError(`notice catalogs: no message "${key}" in ${locale} or ${LAST_RESORT_LOCALE}`);
    return String(compiled.format(values));
  }

  has(locale: string, key: string): boolean {
    return this.messages.get(locale)?.[key] !== undefined;
  }

  private compile(locale: string, key: string, where: string): void {
    try {
      // ignoreTag: the catalogs hold plain text; '<' is a character, not markup.
      this.compiled.set(`${locale}\0${key}`, new IntlMessageFormat(this.messages.get(locale)![key]!, locale, undefined, { ignoreTag: true }));
    } catch (err) {
      throw new ConfigError(`${where}: message "${key}" is not valid ICU MessageFormat: ${(err as Error).message}`);
    }
  }
}

function file(dir: string, locale: string): string {
  return join(dir, `${locale}.json`);
}
