/**
 * One rule for every key file Custos reads (custos-keys.json, ledger-signing.json,
 * token-signing.json): refused when group or others may read or write it, as OpenSSH refuses an
 * open private key. A key others can read unlocks every customer's data, forges checkpoints or
 * mints tokens; a warning in a log nobody reads would not stop that. (Kubernetes secret volumes
 * default to 0644: set defaultMode 0400, or pass the key ring in CUSTOS_KEYRING.)
 */
import { statSync } from 'node:fs';
import { ConfigError } from './errors.ts';

/** ConfigError naming the file and the fix unless `mode` gives group and others no access. */
export function requirePrivateMode(path: string, mode: number): void {
  if (process.platform === 'win32') return; // mode bits carry no meaning there
  if ((mode & 0o077) === 0) return;
  const octal = (mode & 0o777).toString(8).padStart(4, '0');
  throw new ConfigError(`${path}: key file mode is ${octal}; it must not be accessible to group or others (run: chmod 600 ${path})`, {
    source: path,
    field: 'mode',
  });
}

/** requirePrivateMode for a path; ConfigError too when it cannot be looked at. */
export function requirePrivateKeyFile(path: string): void {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (err) {
    throw new ConfigError(`${path}: cannot read the key file (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { source: path });
  }
  requirePrivateMode(path, mode);
}
