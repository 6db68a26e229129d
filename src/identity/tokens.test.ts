import { chmodSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SignJWT, generateKeyPair, importJWK } from 'jose';
import { ConfigError, UnauthenticatedError } from '../errors.ts';
import { TokenVerifier, issueToken, loadOrCreateTokenIssuer, TOKEN_KEY_FILE } from './tokens.ts';

const now = new Date('2026-11-01T10:00:00Z');
const opts = { issuer: 'custos', audience: 'custos-api' };

async function setup(clock: () => Date = () => now) {
  const dir = mkdtempSync(join(tmpdir(), 'custos-tok-'));
  const issuer = await loadOrCreateTokenIssuer(dir);
  const verifier = new TokenVerifier({ localPublicJwks: [issuer.publicJwk], ...opts, now: clock });
  return { dir, issuer, verifier };
}

describe('tokens', () => {
  it('creates the key file 0600 once and reloads the same key', async () => {
    const { dir, issuer } = await setup();
    expect(statSync(join(dir, TOKEN_KEY_FILE)).mode & 0o777).toBe(0o600);
    expect((await loadOrCreateTokenIssuer(dir)).kid).toBe(issuer.kid);
  });

  it('verifies an issued token and returns its subject as the actor', async () => {
    const { issuer, verifier } = await setup();
    const token = await issueToken(issuer, { subject: 'emp-1', ...opts, ttlSeconds: 60, now });
    expect((await verifier.verifyAuthorization(`Bearer ${token}`)).actor).toBe('emp-1');
  });

  it('rejects a missing, malformed, expired, forged or foreign token with 401-class errors', async () => {
    let clock = now;
    const { issuer, verifier } = await setup(() => clock);
    await expect(verifier.verifyAuthorization(undefined)).rejects.toThrow(UnauthenticatedError);
    await expect(verifier.verifyAuthorization('Basic abc')).rejects.toThrow(/Bearer/);
    const token = await issueToken(issuer, { subject: 'emp-1', ...opts, ttlSeconds: 60, now });
    // Forged: change one character of the signature.
    const sig = token.split('.')[2]!;
    const forged = `${token.split('.').slice(0, 2).join('.')}.${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`;
    await expect(verifier.verifyToken(forged)).rejects.toThrow(/signature/);
    // Payload swapped for another subject under the same signature.
    const [h, , s] = token.split('.');
    const body = Buffer.from(JSON.stringify({ sub: 'admin', iss: 'custos', aud: 'custos-api', exp: 9999999999 })).toString('base64url');
    await expect(verifier.verifyToken(`${h}.${body}.${s}`)).rejects.toThrow(UnauthenticatedError);
    // Signed by another key.
    const other = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const foreign = await new SignJWT({}).setProtectedHeader({ alg: 'EdDSA', kid: issuer.kid }).setSubject('emp-1').setIssuer('custos').setAudience('custos-api').setExpirationTime('1h').sign(other.privateKey);
    await expect(verifier.verifyToken(foreign)).rejects.toThrow(UnauthenticatedError);
    // Wrong audience.
    const wrongAud = await issueToken(issuer, { subject: 'emp-1', issuer: 'custos', audience: 'other', ttlSeconds: 60, now });
    await expect(verifier.verifyToken(wrongAud)).rejects.toThrow(/aud/);
    // Expired, also when it was cached while valid.
    expect((await verifier.verifyToken(token)).actor).toBe('emp-1');
    clock = new Date(now.getTime() + 61_000);
    await expect(verifier.verifyToken(token)).rejects.toThrow(/expired/);
    const fresh = await issueToken(issuer, { subject: 'emp-2', ...opts, ttlSeconds: 60, now });
    await expect(verifier.verifyToken(fresh)).rejects.toThrow(/expired/);
  });

  it('accepts only a string subject that is an actor id: an array, boolean, number, bad or missing one is 401', async () => {
    const { issuer, verifier } = await setup();
    const key = await importJWK(issuer.privateJwk, 'EdDSA');
    const signed = (claims: Record<string, unknown>) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid: issuer.kid }).setIssuer('custos').setAudience('custos-api').setExpirationTime(Math.floor(now.getTime() / 1000) + 60).sign(key);
    for (const sub of [['emp-0001'], true, 1234, { id: 'emp-0001' }, null, '', 'emp 0001', 'x'.repeat(129)]) {
      await expect(verifier.verifyToken(await signed({ sub })), JSON.stringify(sub)).rejects.toThrow(UnauthenticatedError);
    }
    await expect(verifier.verifyToken(await signed({}))).rejects.toThrow(UnauthenticatedError);
    expect((await verifier.verifyToken(await signed({ sub: 'emp-0001' }))).actor).toBe('emp-0001');
  });
});

describe('token signing key file', () => {
  it('is refused when group or others can read it, naming the file and the fix', async () => {
    const { dir } = await setup();
    const path = join(dir, TOKEN_KEY_FILE);
    for (const mode of [0o644, 0o640, 0o604]) {
      chmodSync(path, mode);
      await expect(loadOrCreateTokenIssuer(dir)).rejects.toThrow(ConfigError);
      await expect(loadOrCreateTokenIssuer(dir)).rejects.toThrow(`chmod 600 ${path}`);
    }
    chmodSync(path, 0o400);
    await expect(loadOrCreateTokenIssuer(dir)).resolves.toBeDefined();
  });
});
