/**
 * The key ring a long-running process uses: reloaded when the key file changes, so that
 * `custos keys rotate` in another process takes effect without a restart (new data keys are
 * wrapped under the new KEK; keys already re-wrapped open). Checked at most once a second, and
 * at once when the store says a rotation happened (Vault.reload).
 */
import { statSync } from 'node:fs';
import { ConfigError } from '../errors.ts';
import type { KeyRing } from './keyring.ts';
import { readKeyRingFile } from './keyring.ts';

const CHECK_EVERY_MS = 1000;

export class LiveKeyRing {
  #ring: KeyRing;
  #mtimeMs: number;
  #checkedAt = 0;

  constructor(
    ring: KeyRing,
    private readonly nowMs: () => number = Date.now,
  ) {
    this.#ring = ring;
    this.#mtimeMs = this.mtime();
  }

  /** The current key ring, reloaded first if the file changed since the last look. */
  get current(): KeyRing {
    const source = this.#ring.source;
    if (source.kind !== 'file') return this.#ring;
    const now = this.nowMs();
    if (now - this.#checkedAt < CHECK_EVERY_MS) return this.#ring;
    this.#checkedAt = now;
    this.refreshIfChanged();
    return this.#ring;
  }

  /** Reload now if the file changed (a KEK id we do not know means it did). */
  refreshIfChanged(): boolean {
    const mtime = this.mtime();
    if (mtime === this.#mtimeMs) return false;
    const source = this.#ring.source;
    if (source.kind !== 'file') return false;
    // A half-written file cannot be seen: key file writes are temp + rename.
    this.adopt(readKeyRingFile(source.path), mtime);
    return true;
  }

  /** Take a ring this process has just written to the file (a rotation step). */
  adopt(ring: KeyRing, mtime = this.mtime()): void {
    // The store this process serves belongs to one ring; another ring's file swapped in under
    // a running server would seal new customers where the store's ring cannot open them.
    if (ring.ringId !== this.#ring.ringId) {
      throw new ConfigError(`${describeSource(ring)} now holds key ring ${ring.ringId}, but this process runs with key ring ${this.#ring.ringId}; restore the key file or restart`, {
        source: describeSource(ring),
      });
    }
    this.#ring = ring;
    this.#mtimeMs = mtime;
  }

  private mtime(): number {
    const source = this.#ring.source;
    if (source.kind !== 'file') return 0;
    try {
      return statSync(source.path).mtimeMs;
    } catch {
      return this.#mtimeMs;
    }
  }
}

function describeSource(ring: KeyRing): string {
  return ring.source.kind === 'file' ? ring.source.path : ring.source.variable;
}
