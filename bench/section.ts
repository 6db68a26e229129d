/** The contract between `bench/run.ts` and each benchmark section. */
import type { Figure } from './figures.ts';

export interface BenchContext {
  /** Small sizes and short runs: a smoke test of the harness, not a measurement. */
  quick: boolean;
  /** A directory of this section's own under bench/tmp/, deleted when the run ends. */
  tmpDir: string;
  /** Progress for the person watching (stderr); the table goes to stdout. */
  log(line: string): void;
  /** Something the reader of the results must know, e.g. a figure that could not be measured. */
  warn(line: string): void;
}

export interface Section {
  name: string;
  description: string;
  run(ctx: BenchContext): Promise<Figure[]>;
}

/** At least three runs of everything: one noisy run must not decide a median. */
export const RUNS = 3;
