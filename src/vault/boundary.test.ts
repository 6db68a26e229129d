/**
 * The architecture rule, checked: only src/broker/ imports the vault's decryption module,
 * and code outside src/vault/ reaches the vault only through index.ts or decrypt.ts — never
 * keyring.ts (no module outside the vault holds a key ring or a live key object), and no direct
 * import of field-cipher.ts, envelope.ts or vault.ts sidesteps the rule. Test files are exempt:
 * they are not a path to customer data. bench/ is checked too; its one exception is the reveal
 * benchmark's baseline server (bench/baseline-server.ts), which decrypts without the broker on
 * purpose, to measure what the guard costs, and is never part of Custos.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '..');
const BENCH = join(import.meta.dirname, '../../bench');
const BENCH_DECRYPTS = ['baseline-server.ts'];
const IMPORT_RE = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return /\.(ts|tsx|js|mjs)$/.test(e.name) && !/\.test\.tsx?$/.test(e.name) ? [path] : [];
  });
}

/** `mayDecrypt(rel)`: may this file (path relative to `srcDir`) import decrypt.ts? */
function vaultImportViolations(srcDir: string, mayDecrypt = (rel: string) => rel.startsWith('broker/')): string[] {
  const out: string[] = [];
  for (const file of sourceFiles(srcDir)) {
    const rel = relative(srcDir, file).split(sep).join('/');
    if (rel.startsWith('vault/')) continue;
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT_RE)) {
      const spec = m[1]!;
      const target = /(^|\/)vault\/([^/]+)$/.exec(spec)?.[2];
      if (target === undefined) continue;
      if (target === 'index.ts') continue;
      if (target === 'decrypt.ts' && mayDecrypt(rel)) continue;
      out.push(`${rel} imports ${spec}`);
    }
  }
  return out;
}

describe('vault boundary', () => {
  it('only src/broker/ imports vault/decrypt.ts; others use vault/index.ts, never keyring.ts', () => {
    expect(vaultImportViolations(SRC)).toEqual([]);
  });

  it('in bench/, only the baseline server decrypts', () => {
    expect(vaultImportViolations(BENCH, (rel) => BENCH_DECRYPTS.includes(rel))).toEqual([]);
    expect(readFileSync(join(BENCH, 'baseline-server.ts'), 'utf8')).toMatch(/from '\.\.\/src\/vault\/decrypt\.ts'/);
  });

  it('catches a decrypting import outside the broker, and a side door into the vault', () => {
    const dir = mkdtempSync(join(tmpdir(), 'custos-boundary-'));
    try {
      const put = (rel: string, text: string): void => {
        mkdirSync(join(dir, rel, '..'), { recursive: true });
        writeFileSync(join(dir, rel), text);
      };
      put('broker/ok.ts', "import { openField } from '../vault/decrypt.ts';\nimport { maskField } from '../vault/index.ts';\n");
      put('importer/bad.ts', "import { openField } from '../vault/decrypt.ts';\n");
      put('api/side.ts', "import { unwrapDataKey } from '../vault/envelope.ts';\n");
      put('api/lazy.ts', "const m = await import('../vault/field-cipher.ts');\n");
      put('importer/bad.test.ts', "import { openField } from '../vault/decrypt.ts';\n");
      put('cli/ring.ts', "import { readKeyRingFile } from '../vault/keyring.ts';\n");
      put('broker/ring.ts', "import type { KeyRing } from '../vault/keyring.ts';\n");
      put('app.ts', "import { openerFor } from './vault/vault.ts';\n");
      expect(vaultImportViolations(dir).sort()).toEqual([
        'api/lazy.ts imports ../vault/field-cipher.ts',
        'api/side.ts imports ../vault/envelope.ts',
        'app.ts imports ./vault/vault.ts',
        'broker/ring.ts imports ../vault/keyring.ts',
        'cli/ring.ts imports ../vault/keyring.ts',
        'importer/bad.ts imports ../vault/decrypt.ts',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the public surface exports no decryption and no key ring; decrypt.ts only the opener', async () => {
    const surface = await import('./index.ts');
    for (const name of ['openField', 'unwrapDataKey', 'DataKeyCache', 'openerFor', 'FieldOpener', 'KeyRing', 'LiveKeyRing', 'loadKeyRing', 'findKeyRing', 'readKeyRingFile', 'customerSealer', 'sealCustomerPii', 'newDataKey', 'rewrapDataKey']) {
      expect(surface).not.toHaveProperty(name);
    }
    expect(surface).toHaveProperty('Vault');
    const decrypt = await import('./decrypt.ts');
    expect(Object.keys(decrypt).sort()).toEqual(['FieldOpener', 'openerFor']);
  });
});
