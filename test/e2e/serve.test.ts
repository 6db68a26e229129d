/** `npm start` as a newcomer runs it: an empty data dir, the demo seeded, Ctrl-C stops cleanly. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { custosCli } from '../support/cli.ts';

const BIN = fileURLToPath(new URL('../../bin/custos.js', import.meta.url));

describe('custos serve', () => {
  it('seeds the demo into an empty store, serves, and signs a final checkpoint on SIGINT', async () => {
    const data = mkdtempSync(join(tmpdir(), 'custos-serve-'));
    const child = spawn(process.execPath, [BIN, 'serve', '--data', data, '--port', '0'], { env: { ...process.env, CUSTOS_LOG_LEVEL: 'warn' } });
    let stderr = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line:\n${stderr}`)), 180_000);
      child.stderr.on('data', (d) => {
        stderr += d;
        const m = /custos listening on (http:\/\/\S+)/.exec(stderr);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      child.on('exit', (code) => reject(new Error(`exited ${code}:\n${stderr}`)));
    });
    expect(stderr).toMatch(/seeded a demo organisation: 300 employees, 10000 customers \(10 canaries\), \d+ cases/);
    // What the demo's people did, for `custos ingest events`; who the insiders were; no customer file in clear.
    expect(stderr).toContain(`8 insiders included, are in ${join(data, 'demo', 'events.jsonl')}`);
    expect(statSync(join(data, 'demo', 'events.jsonl')).size).toBeGreaterThan(1_000_000);
    expect(readdirSync(join(data, 'demo')).filter((f) => f !== 'recorded.json').sort()).toEqual(['events.jsonl', 'truth.json']);
    for (const f of ['custos-keys.json', 'ledger-signing.json', 'token-signing.json']) {
      expect(statSync(join(data, f)).mode & 0o777, f).toBe(0o600);
    }
    expect(await (await fetch(`${url}/healthz`)).json()).toMatchObject({ status: 'ok', store: 'sqlite' });

    const token = (await custosCli(['token', 'issue', '--employee', 'emp-0001', '--data', data])).stdout.trim();
    const res = await fetch(`${url}/v1/customers/cus-000001/reveal`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ fields: ['email'], purpose: { kind: 'case', ref: 'case-000001' } }),
    });
    expect(res.status).toBe(200);

    // The demo's events are recorded in the background, and live detection raises its alerts.
    const long = { timeout: 240_000, interval: 200 };
    await vi.waitFor(() => expect(stderr).toMatch(/recorded the demo's (\d+) events/), long);
    const recorded = Number(/recorded the demo's (\d+) events/.exec(stderr)![1]);
    expect(recorded).toBeGreaterThan(10_000);
    expect(JSON.parse(readFileSync(join(data, 'demo', 'recorded.json'), 'utf8'))).toMatchObject({ ingested: recorded, skipped: 0 });
    const analyst = (await custosCli(['token', 'issue', '--employee', 'sec-0001', '--data', data])).stdout.trim();
    const alerts = await vi.waitFor(async () => {
      const list = await (await fetch(`${url}/v1/alerts?limit=100`, { headers: { authorization: `Bearer ${analyst}` } })).json() as { alerts: Array<{ detectors: Array<{ name: string }> }> };
      expect(list.alerts.flatMap((a) => a.detectors.map((d) => d.name))).toContain('canary');
      return list.alerts;
    }, long);
    expect(alerts.length).toBeGreaterThan(1);

    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    expect(await exit).toBe(0);
    expect(stderr).toMatch(/SIGINT: stopping/);
    // The token's issue (recorded by the command, beside the running server) and the reveal, in
    // one tree; the final checkpoint covers both, so the log verifies with nothing unsigned.
    const verified = await custosCli(['ledger', 'verify', '--data', data]);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/^ledger OK: \d+ entries/);
    expect(verified.stdout).not.toMatch(/after the latest checkpoint/);
  }, 300_000);

  it('refuses a second server on a port in use, with a configuration error', async () => {
    const data = mkdtempSync(join(tmpdir(), 'custos-serve-'));
    const net = await import('node:net');
    const blocker = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const res = await custosCli(['serve', '--data', data, '--port', String(port), '--no-demo']);
      expect(res.code).toBe(9);
      expect(res.stderr).toMatch(/cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\)/);
    } finally {
      blocker.close();
    }
  }, 60_000);

  it('stops start-up on a policy that does not validate, naming the file', async () => {
    const { policyDirWith } = await import('../../src/policy/test-policy-dir.ts');
    const dir = policyDirWith({ 'extra.cedar': 'permit (principal, action == Action::"reveal", resource) when { resource.shoeSize > 3 };\n' });
    const data = mkdtempSync(join(tmpdir(), 'custos-serve-'));
    const res = await custosCli(['serve', '--data', data, '--port', '0', '--policies', dir]);
    expect(res.code).toBe(9);
    expect(res.stderr).toMatch(/extra\.cedar/);
  }, 60_000);

  it('stops start-up on a bad places file (CUSTOS_PLACES), naming its line and field', async () => {
    const data = mkdtempSync(join(tmpdir(), 'custos-serve-'));
    const places = join(data, 'places.jsonl');
    writeFileSync(places, '{"cidr":"10.3.0.0/16","place":"Milan office","lat":45.46,"lon":9.19}\n{"cidr":"10.3.0.0/99","place":"Nowhere","lat":0,"lon":0}\n');
    const res = await custosCli(['serve', '--data', data, '--port', '0', '--no-demo'], { env: { CUSTOS_PLACES: places } });
    expect(res.code).toBe(9);
    expect(res.stderr).toBe(`custos: CUSTOS_PLACES: ${places}:2: field "cidr": must be a network such as 10.3.0.0/16 or 2001:db8:3::/48\n`);
  }, 60_000);
});
