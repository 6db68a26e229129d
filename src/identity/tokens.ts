/**
 * Who is calling. Every API call carries a bearer JWT whose subject is the actor. Tokens are
 * verified with jose against the local issuer's key (for embedded/demo use, minted by
 * `custos token issue`) and, when configured, an identity provider's JWKS.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import {
  SignJWT,
  createLocalJWKSet,
  createRemoteJWKSet,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  errors as joseErrors,
  type JWK,
  type JWTVerifyGetKey,
} from 'jose';
import { ConfigError, UnauthenticatedError } from '../errors.ts';
import { checkId } from '../model.ts';
import { requirePrivateKeyFile } from '../key-file-mode.ts';

export const TOKEN_KEY_FILE = 'token-signing.json';

interface TokenKeyFile {
  version: 1;
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

export interface TokenIssuer {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

/** The local issuer key, created (mode 0600) on first use. */
export async function loadOrCreateTokenIssuer(keyDir: string): Promise<TokenIssuer> {
  const path = join(keyDir, TOKEN_KEY_FILE);
  if (existsSync(path)) {
    // Whoever reads this file can mint a token for any employee.
    requirePrivateKeyFile(path);
    let parsed: TokenKeyFile;
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8')) as TokenKeyFile;
    } catch (err) {
      throw new ConfigError(`${path}: not valid JSON (${(err as Error).message})`);
    }
    if (parsed.version !== 1 || typeof parsed.kid !== 'string' || parsed.privateJwk?.kty !== 'OKP' || parsed.publicJwk?.kty !== 'OKP') {
      throw new ConfigError(`${path}: expected {version: 1, kid, privateJwk, publicJwk} with Ed25519 (OKP) keys`);
    }
    return { kid: parsed.kid, privateJwk: parsed.privateJwk, publicJwk: parsed.publicJwk };
  }
  mkdirSync(keyDir, { recursive: true, mode: 0o700 });
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const kid = randomUUID();
  const file: TokenKeyFile = {
    version: 1,
    kid,
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'EdDSA' },
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA' },
  };
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(file, null, 2), { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
  return { kid, privateJwk: file.privateJwk, publicJwk: file.publicJwk };
}

export async function issueToken(
  issuer: TokenIssuer,
  opts: { subject: string; issuer: string; audience: string; ttlSeconds: number; now: Date },
): Promise<string> {
  checkId(opts.subject, 'employee');
  const key = await importJWK(issuer.privateJwk, 'EdDSA');
  const iat = Math.floor(opts.now.getTime() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'EdDSA', kid: issuer.kid, typ: 'JWT' })
    .setSubject(opts.subject)
    .setIssuer(opts.issuer)
    .setAudience(opts.audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + opts.ttlSeconds)
    .setJti(randomUUID())
    .sign(key);
}

export interface VerifiedActor {
  actor: string;
  expiresAt: number;
}

export interface TokenVerifierOptions {
  localPublicJwks: JWK[];
  jwksUrl?: string;
  issuer: string;
  audience: string;
  now: () => Date;
}

// Verified tokens are remembered until they expire: an Ed25519 verify per request would
// dominate the reveal path. Bounded so a flood of distinct tokens cannot grow memory.
const VERIFIED_CACHE_MAX = 10_000;

export class TokenVerifier {
  private readonly local: JWTVerifyGetKey;
  private readonly remote: JWTVerifyGetKey | undefined;
  private readonly verified = new Map<string, VerifiedActor>();

  constructor(private readonly opts: TokenVerifierOptions) {
    this.local = createLocalJWKSet({ keys: opts.localPublicJwks });
    this.remote = opts.jwksUrl ? createRemoteJWKSet(new URL(opts.jwksUrl)) : undefined;
  }

  /** Verify `Authorization: Bearer …` and return the actor; 401 for anything less than a valid token. */
  async verifyAuthorization(header: string | undefined): Promise<VerifiedActor> {
    if (!header) throw new UnauthenticatedError('missing bearer token (Authorization: Bearer <token>)');
    const m = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(header.trim());
    if (!m) throw new UnauthenticatedError('Authorization header must be "Bearer <JWT>"');
    return this.verifyToken(m[1]!);
  }

  async verifyToken(token: string): Promise<VerifiedActor> {
    const nowMs = this.opts.now().getTime();
    const cached = this.verified.get(token);
    if (cached) {
      if (cached.expiresAt * 1000 > nowMs) return cached;
      this.verified.delete(token);
      throw new UnauthenticatedError('token expired');
    }
    const actor = await this.verifyUncached(token, nowMs);
    if (this.verified.size >= VERIFIED_CACHE_MAX) this.verified.clear();
    this.verified.set(token, actor);
    return actor;
  }

  private async verifyUncached(token: string, nowMs: number): Promise<VerifiedActor> {
    const verifyOpts = {
      issuer: this.opts.issuer,
      audience: this.opts.audience,
      currentDate: new Date(nowMs),
      requiredClaims: ['sub', 'exp'],
      algorithms: ['EdDSA', 'ES256', 'RS256'],
    };
    let result;
    try {
      result = await jwtVerify(token, this.local, verifyOpts);
    } catch (err) {
      if (this.remote && err instanceof joseErrors.JWKSNoMatchingKey) {
        try {
          result = await jwtVerify(token, this.remote, verifyOpts);
        } catch (remoteErr) {
          throw toUnauthenticated(remoteErr);
        }
      } else {
        throw toUnauthenticated(err);
      }
    }
    return { actor: actorOf(result.payload.sub), expiresAt: result.payload.exp! };
  }
}

/**
 * The subject as an actor id. jose checks only that `sub` is present: an array, a boolean or a
 * number would pass a regex test as its string form (["emp-0001"] reads as "emp-0001") and then
 * act as someone, so its type is checked first.
 */
function actorOf(sub: unknown): string {
  if (typeof sub !== 'string') throw new UnauthenticatedError('token subject must be a string naming the actor');
  try {
    return checkId(sub, 'sub');
  } catch {
    throw new UnauthenticatedError('token subject is not a valid actor id');
  }
}

function toUnauthenticated(err: unknown): UnauthenticatedError {
  if (err instanceof joseErrors.JWTExpired) return new UnauthenticatedError('token expired');
  if (err instanceof joseErrors.JWTClaimValidationFailed) return new UnauthenticatedError(`token claim "${err.claim}" is not acceptable`);
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return new UnauthenticatedError('token signature does not verify');
  if (err instanceof joseErrors.JWKSNoMatchingKey) return new UnauthenticatedError('token is signed by an unknown key');
  return new UnauthenticatedError('token is not a valid JWT');
}
