/**
 * The containment webhook: tell another system (the marketplace's "block this seller", HR's
 * system) that an employee was contained. POSTed as JSON, retried with exponential backoff;
 * every attempt and the outcome are reported to the caller (the incident's timeline).
 */

export interface WebhookPolicy {
  url: string;
  /** Attempts in all, the first included. */
  attempts: number;
  /** Wait before the second attempt, doubled before each further one. */
  backoffMs: number;
  /** Per attempt. */
  timeoutMs?: number;
}

export interface WebhookAttempt {
  attempt: number;
  ok: boolean;
  /** The HTTP status, when there was a response. */
  status?: number;
  /** Why it failed without a response (connection refused, timeout). */
  error?: string;
  /** Wait before the next attempt, when there is one. */
  retryInMs?: number;
}

export interface WebhookOutcome {
  delivered: boolean;
  attempts: number;
}

/** POST `body` until a 2xx answer or the attempts run out; `onAttempt` hears each one as it ends. */
export async function deliverWebhook(
  policy: WebhookPolicy,
  body: unknown,
  onAttempt: (a: WebhookAttempt) => Promise<void>,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
): Promise<WebhookOutcome> {
  const payload = JSON.stringify(body);
  for (let attempt = 1; attempt <= policy.attempts; attempt++) {
    let result: WebhookAttempt;
    try {
      const res = await fetch(policy.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: payload,
        signal: AbortSignal.timeout(policy.timeoutMs ?? 10_000),
      });
      // The answer's body is not ours to keep; drain it so the connection can be reused.
      await res.arrayBuffer().catch(() => undefined);
      result = { attempt, ok: res.ok, status: res.status };
    } catch (err) {
      result = { attempt, ok: false, error: describe(err) };
    }
    const wait = policy.backoffMs * 2 ** (attempt - 1);
    if (!result.ok && attempt < policy.attempts) result.retryInMs = wait;
    await onAttempt(result);
    if (result.ok) return { delivered: true, attempts: attempt };
    if (attempt < policy.attempts) await sleep(wait);
  }
  return { delivered: false, attempts: policy.attempts };
}

function describe(err: unknown): string {
  const cause = (err as { cause?: { code?: string } }).cause;
  if (cause?.code) return cause.code;
  if ((err as Error).name === 'TimeoutError') return 'timeout';
  return (err as Error).message ?? String(err);
}
