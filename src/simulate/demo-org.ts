/**
 * Deterministic demo customers across ten countries and locales (the simulator's and the demo's),
 * and the names people have there. Customer `i` is the same record whatever the run; a run only
 * adds its flags (VIP, canary).
 */
import { validPhone } from '../model.ts';

/** A small, fast, seedable PRNG (mulberry32): the same seed gives the same organisation. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface CountryProfile {
  country: string;
  locale: string;
  regions?: string[];
  /** Mobile numbers: calling code, national prefixes, national number length; the other digits are random. */
  phone: { code: string; prefixes: string[]; length: number };
  domains: string[];
  first: string[];
  last: string[];
}

const COUNTRIES: CountryProfile[] = [
  { country: 'US', locale: 'en-US', regions: ['US-CA', 'US-NY', 'US-TX', 'US-WA'], phone: { code: '1', prefixes: ['201', '212', '415', '206', '312', '617'], length: 10 }, domains: ['mail.example', 'post.example'], first: ['James', 'Mary', 'Robert', 'Linda', 'Michael', 'Sarah'], last: ['Smith', 'Johnson', 'Brown', 'Garcia', 'Miller', 'Davis'] },
  { country: 'GB', locale: 'en-GB', phone: { code: '44', prefixes: ['74', '75', '77', '78', '79'], length: 10 }, domains: ['mail.example', 'inbox.example'], first: ['Oliver', 'Amelia', 'Harry', 'Isla', 'George', 'Ava'], last: ['Taylor', 'Wilson', 'Evans', 'Thomas', 'Roberts', 'Walker'] },
  { country: 'DE', locale: 'de-DE', phone: { code: '49', prefixes: ['151', '152', '160', '170', '176'], length: 11 }, domains: ['post.example', 'web.example'], first: ['Lukas', 'Anna', 'Jonas', 'Lea', 'Felix', 'Mia'], last: ['Müller', 'Schmidt', 'Schneider', 'Fischer', 'Weber', 'Wagner'] },
  { country: 'FR', locale: 'fr-FR', phone: { code: '33', prefixes: ['6', '7'], length: 9 }, domains: ['courriel.example', 'mail.example'], first: ['Gabriel', 'Louise', 'Raphaël', 'Emma', 'Léo', 'Chloé'], last: ['Martin', 'Bernard', 'Dubois', 'Thomas', 'Robert', 'Richard'] },
  { country: 'IT', locale: 'it-IT', phone: { code: '39', prefixes: ['31', '32', '33', '34', '35', '38'], length: 10 }, domains: ['posta.example', 'mail.example'], first: ['Leonardo', 'Sofia', 'Francesco', 'Giulia', 'Alessandro', 'Aurora'], last: ['Rossi', 'Russo', 'Ferrari', 'Esposito', 'Bianchi', 'Romano'] },
  { country: 'ES', locale: 'es-ES', phone: { code: '34', prefixes: ['6', '7'], length: 9 }, domains: ['correo.example', 'mail.example'], first: ['Hugo', 'Lucía', 'Martín', 'Sofía', 'Pablo', 'Martina'], last: ['García', 'Rodríguez', 'González', 'Fernández', 'López', 'Martínez'] },
  { country: 'ID', locale: 'id-ID', phone: { code: '62', prefixes: ['811', '812', '813', '821', '852'], length: 11 }, domains: ['surel.example', 'mail.example'], first: ['Budi', 'Siti', 'Agus', 'Dewi', 'Eko', 'Rina'], last: ['Santoso', 'Wijaya', 'Saputra', 'Hidayat', 'Pratama', 'Lestari'] },
  { country: 'CA', locale: 'en-CA', regions: ['CA-ON', 'CA-QC', 'CA-BC'], phone: { code: '1', prefixes: ['506', '416', '514', '604'], length: 10 }, domains: ['mail.example', 'post.example'], first: ['Liam', 'Olivia', 'Noah', 'Emma', 'William', 'Charlotte'], last: ['Tremblay', 'Roy', 'Gagnon', 'Wong', 'Campbell', 'Lee'] },
  { country: 'BR', locale: 'pt-BR', phone: { code: '55', prefixes: ['119', '219', '319'], length: 11 }, domains: ['correio.example', 'mail.example'], first: ['Miguel', 'Helena', 'Arthur', 'Alice', 'Heitor', 'Laura'], last: ['Silva', 'Santos', 'Oliveira', 'Souza', 'Lima', 'Pereira'] },
  { country: 'JP', locale: 'ja-JP', phone: { code: '81', prefixes: ['70', '80', '90'], length: 10 }, domains: ['mail.example', 'meru.example'], first: ['Haruto', 'Yui', 'Sota', 'Hina', 'Yuto', 'Sakura'], last: ['Sato', 'Suzuki', 'Takahashi', 'Tanaka', 'Watanabe', 'Ito'] },
];

/** The customers' countries, in the order customer indexes cycle through them (`cus-000001` is GB). */
export const CUSTOMER_COUNTRIES: readonly string[] = COUNTRIES.map((c) => c.country);

/** A person's name from one of the demo countries' common names. */
export function personName(rand: { next(): number }): string {
  const next = () => rand.next();
  const p = pick(next, COUNTRIES);
  return `${pick(next, p.first)} ${pick(next, p.last)}`;
}

export interface DemoCustomerRecord {
  id: string;
  email: string;
  phone: string;
  name: string;
  country: string;
  region?: string;
  locale: string;
  canary?: boolean;
  address?: string;
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');
const pick = <T>(rand: () => number, list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;

/** The `i`th demo customer (deterministic in `i`), as an interchange-format record. */
export function demoCustomer(i: number, canaryEvery = 0): DemoCustomerRecord {
  const rand = seededRandom(0x5eed + i * 7919);
  const p = COUNTRIES[i % COUNTRIES.length]!;
  const first = pick(rand, p.first);
  const last = pick(rand, p.last);
  const local = `${first}.${last}`.normalize('NFD').replace(/[^A-Za-z.]/g, '').toLowerCase();
  const phone = demoPhone(rand, p.phone);
  const region = p.regions ? pick(rand, p.regions) : undefined;
  return {
    id: `cus-${pad(i, 6)}`,
    email: `${local}${i}@${pick(rand, p.domains)}`,
    phone,
    name: `${first} ${last}`,
    country: p.country,
    ...(region ? { region } : {}),
    locale: p.locale,
    address: `${1 + Math.floor(rand() * 200)} ${pick(rand, ['Main', 'High', 'Station', 'Park'])} Street`,
    ...(canaryEvery > 0 && i % canaryEvery === canaryEvery - 1 ? { canary: true } : {}),
  };
}

/**
 * A valid mobile number whose digits, past the country's prefix, all come from the PRNG: the
 * mask shows the calling code and the last four, and the hidden digits must not follow from
 * them, from the id or from the country.
 */
function demoPhone(rand: () => number, p: CountryProfile['phone']): string {
  for (;;) {
    let national = pick(rand, p.prefixes);
    while (national.length < p.length) national += String(Math.floor(rand() * 10));
    const phone = validPhone(`+${p.code}${national}`);
    if (phone) return phone;
  }
}

/** One demo customer in this many is a canary. */
export const CANARY_EVERY = 997;
export const DEMO_CUSTOMERS = 10_000;
