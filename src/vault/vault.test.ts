import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { KeyObject } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { parseCustomer } from '../model.ts';
import { openerFor } from './decrypt.ts';
import { wrappedKekId } from './envelope.ts';
import { keyRingPath, newKeyRingDocument, readKeyRingFile } from './keyring.ts';
import { createVault, openVault } from './vault.ts';

const T0 = new Date('2026-01-31T09:00:00Z');
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'custos-vault-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const input = parseCustomer({ id: 'c-1', country: 'GB', email: 'Ann@Mail.Example', phone: '+447400123456', name: 'Ann Lee' });

/** Every value reachable from `root` through its own properties (enumerable or not). */
function reachable(root: object): unknown[] {
  const seen = new Set<unknown>();
  const walk = (v: unknown): void => {
    if (v === null || typeof v !== 'object' || seen.has(v)) return;
    seen.add(v);
    for (const key of Reflect.ownKeys(v)) walk((v as Record<PropertyKey, unknown>)[key]);
  };
  walk(root);
  return [...seen];
}

describe('Vault', () => {
  it('seals, indexes and reports status without exposing a key object or key material', () => {
    const vault = createVault(dir, T0);
    const sealed = vault.sealCustomer(input);
    expect(sealed.kekId).toBe(vault.currentKekId);
    expect(wrappedKekId(sealed.wrappedKey)).toBe(vault.currentKekId);
    expect(sealed.emailIndex).toBe(vault.blindIndexEmail('ann@mail.example'));
    expect(sealed.phoneIndex).toBe(vault.blindIndexPhone('07400 123456', 'GB'));

    const status = vault.status();
    expect(status).toEqual({ ringId: vault.ringId, currentKekId: vault.currentKekId, keks: [{ id: vault.currentKekId, createdAt: T0.toISOString() }], source: { kind: 'file', path: keyRingPath(dir) } });
    // Nothing a holder of the vault can reach is a key: the ring lives in # fields.
    expect(reachable(vault).some((v) => v instanceof KeyObject)).toBe(false);
    expect(Reflect.ownKeys(vault)).toEqual([]);
    const doc = JSON.parse(JSON.stringify(readKeyRingFile(keyRingPath(dir)).toJSON()));
    const shown = JSON.stringify(vault) + inspect(vault, { depth: 10, showHidden: true });
    expect(shown).toContain(doc.ringId);
    const raw = JSON.parse(readFileSync(keyRingPath(dir), 'utf8'));
    expect(shown).not.toContain(raw.keks[0].key);
    expect(shown).not.toContain(raw.indexKey);
  });

  it('opens fields only through the opener (decrypt.ts), whose keys are private too', () => {
    const vault = createVault(dir, T0);
    const sealed = vault.sealCustomer(input);
    const opener = openerFor(vault);
    expect(opener.open(sealed, ['email', 'name'])).toEqual({ email: 'Ann@Mail.Example', name: 'Ann Lee' });
    expect(reachable(opener).some((v) => v instanceof KeyObject || Buffer.isBuffer(v))).toBe(false);
    opener.forget('c-1');
  });

  it('finds nothing and creates nothing without a key file; refuses another ring swapped in under it', () => {
    expect(openVault({ dir, env: {} })).toBeUndefined();
    const vault = createVault(dir, T0, { nowMs: () => 0 });
    expect(openVault({ dir, env: {} })!.ringId).toBe(vault.ringId);
    const other = newKeyRingDocument(T0);
    rmSync(keyRingPath(dir));
    writeFileSync(keyRingPath(dir), JSON.stringify(other), { mode: 0o600 });
    expect(() => vault.reload()).toThrow(ConfigError);
    expect(() => vault.reload()).toThrow(`now holds key ring ${other.ringId}, but this process runs with key ring ${vault.ringId}`);
  });

  it('rotates a file ring only; an env ring is changed where it is set', async () => {
    const doc = newKeyRingDocument(T0);
    const vault = openVault({ dir, env: { CUSTOS_KEYRING: JSON.stringify(doc) } })!;
    expect(vault.source).toBe('CUSTOS_KEYRING');
    await expect(vault.rotate(() => T0, async () => new Set())).rejects.toThrow(/CUSTOS_KEYRING/);
  });
});
