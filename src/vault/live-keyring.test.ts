import { mkdtempSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createKeyRingFile, rotateKek, KEY_FILE_NAME } from './keyring.ts';
import { LiveKeyRing } from './live-keyring.ts';

describe('LiveKeyRing', () => {
  it('picks up a rotation made by another process, checking at most once a second', () => {
    const dir = mkdtempSync(join(tmpdir(), 'custos-live-'));
    const path = join(dir, KEY_FILE_NAME);
    const first = createKeyRingFile(path, new Date('2026-11-01T00:00:00Z'));
    let now = 10_000;
    const live = new LiveKeyRing(first, () => now);
    expect(live.current.currentKekId).toBe(first.currentKekId);
    const rotated = rotateKek(path, new Date('2026-11-02T00:00:00Z'));
    // Same-second writes may keep the mtime on coarse file systems; make the change visible.
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    now += 10;
    expect(live.current.currentKekId).toBe(first.currentKekId);
    now += 2000;
    expect(live.current.currentKekId).toBe(rotated.currentKekId);
    expect(live.current.kekIds).toContain(first.currentKekId);
  });
});
