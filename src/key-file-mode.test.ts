import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.ts';
import { requirePrivateKeyFile } from './key-file-mode.ts';

describe('key file mode', () => {
  it('accepts owner-only modes and refuses any group or other bit, naming the file and chmod 600', () => {
    const dir = mkdtempSync(join(tmpdir(), 'custos-mode-'));
    try {
      const path = join(dir, 'k.json');
      writeFileSync(path, '{}');
      for (const ok of [0o600, 0o400, 0o700]) {
        chmodSync(path, ok);
        expect(() => requirePrivateKeyFile(path)).not.toThrow();
      }
      for (const bad of [0o644, 0o640, 0o604, 0o660, 0o602, 0o610]) {
        chmodSync(path, bad);
        expect(() => requirePrivateKeyFile(path)).toThrow(ConfigError);
        expect(() => requirePrivateKeyFile(path)).toThrow(`mode is 0${bad.toString(8)}; it must not be accessible to group or others (run: chmod 600 ${path})`);
      }
      expect(() => requirePrivateKeyFile(join(dir, 'missing.json'))).toThrow(/cannot read the key file \(ENOENT\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
