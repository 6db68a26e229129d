/**
 * How long a test waits for something that happens on its own time (a background thread, a
 * timer): polled often, with a deadline a loaded 2-core machine meets. A wait ends as soon as
 * its condition holds, so a generous deadline costs nothing when things go well.
 */
export const untilLoadedDeadline = { timeout: 20_000, interval: 20 } as const;
