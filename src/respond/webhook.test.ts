import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverWebhook, type WebhookAttempt } from './webhook.ts';

describe('containment webhook', () => {
  const statuses: number[] = [];
  let url = '';
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.statusCode = statuses.shift() ?? 200;
      res.end();
    });
  });
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
  });
  afterAll(() => void server.close());

  it('retries with exponential backoff until a 2xx, reporting each attempt', async () => {
    statuses.push(500, 502, 503);
    const attempts: WebhookAttempt[] = [];
    const waits: number[] = [];
    const outcome = await deliverWebhook({ url, attempts: 5, backoffMs: 100 }, { a: 1 }, async (a) => void attempts.push(a), async (ms) => void waits.push(ms));
    expect(outcome).toEqual({ delivered: true, attempts: 4 });
    expect(waits).toEqual([100, 200, 400]);
    expect(attempts.map((a) => [a.attempt, a.ok, a.status])).toEqual([[1, false, 500], [2, false, 502], [3, false, 503], [4, true, 200]]);
  });

  it('gives up after the last attempt, saying why each failed', async () => {
    const attempts: WebhookAttempt[] = [];
    // A port that was just free again: the connection is refused.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const outcome = await deliverWebhook({ url: `http://127.0.0.1:${port}/hook`, attempts: 2, backoffMs: 1 }, {}, async (a) => void attempts.push(a), async () => {});
    expect(outcome).toEqual({ delivered: false, attempts: 2 });
    expect(attempts.map((a) => [a.ok, a.error, a.retryInMs])).toEqual([[false, 'ECONNREFUSED', 1], [false, 'ECONNREFUSED', undefined]]);
  });
});
