/**
 * For tests: a copy of the default policy directory in a temp dir, with some files replaced,
 * added or (with `null`) removed — what an operator does to change behaviour.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_POLICY_DIR } from './engine.ts';

const made: string[] = [];

export function policyDirWith(files: Record<string, string | null> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'custos-policies-'));
  made.push(dir);
  cpSync(DEFAULT_POLICY_DIR, dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    if (text === null) rmSync(join(dir, name));
    else writeFileSync(join(dir, name), text);
  }
  return dir;
}

/** Remove every directory made so far (call from afterAll). */
export function removePolicyDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}
