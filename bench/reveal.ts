/**
 * Reveals over real HTTP: the real server in a child process, loaded by autocannon from this
 * one. The baseline is bench/baseline-server.ts, a bench-only server in a child process of its
 * own over the same data: the same token check, store read and AES-GCM decryption with no policy
 * decision and no ledger record, so the ratio is the price of the guard. The real server has no
 * unguarded route. Guarded and baseline runs alternate, so drift hits both alike.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import autocannon, { type AutocannonResult } from 'autocannon';
import { openCustos } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { issueToken, loadOrCreateTokenIssuer } from '../src/identity/tokens.ts';
import type { CaseRecord } from '../src/model.ts';
import { DEFAULT_POLICY_DIR, ROLES_FILE } from '../src/policy/index.ts';
import { CANARY_EVERY, demoCustomer } from '../src/simulate/demo-org.ts';
import { seedDemoIfEmpty } from '../src/simulate/seed-demo.ts';
import { cpuSecondsOf, startBaselineServer, startCustosServer, type RunningServer } from './child.ts';
import { median, nowMs, pairedFigure, percentile, summedFigure, type Figure, type RunPair } from './figures.ts';
import { RUNS, type BenchContext, type Section } from './section.ts';

/** The agent every benchmarked reveal is made by, and the fields it reveals. */
export const AGENT = 'emp-0001';
export const FIELDS = ['email', 'phone'];

interface Sizes {
  customers: number;
  pairs: number;
  connections: number;
  seconds: number;
  warmupSeconds: number;
  fixedRate: number;
}

const FULL: Sizes = { customers: 10_000, pairs: 2000, connections: 50, seconds: 10, warmupSeconds: 3, fixedRate: 3000 };
const QUICK: Sizes = { customers: 1000, pairs: 200, connections: 20, seconds: 1, warmupSeconds: 1, fixedRate: 500 };

/** A customer and the open case that gives the agent a purpose to reveal them. */
export interface Pair {
  customer: string;
  caseId: string;
}

interface LoadRun {
  rps: number;
  p50: number;
  p99: number;
  /** Non-2xx responses plus connection errors and timeouts. */
  failures: number;
  /** Server process CPU (user + system) per response, µs. */
  cpuUs: number;
  /** Server process CPU over the run's wall time: 1 is one core busy throughout. */
  cpuShare: number;
}

export const revealSection: Section = {
  name: 'reveal',
  description: 'guarded reveals over HTTP (autocannon) against the bench-only baseline server (token check, read, decryption)',
  async run(ctx) {
    const sizes = ctx.quick ? QUICK : FULL;
    const { dataDir, policyDir, pairs } = await prepareDataDir(ctx, 'reveal', sizes);
    const token = await agentToken(dataDir);
    ctx.log(`reveal: starting custos serve (${pairs.length} customer/case pairs)`);
    const serve = async (env: Record<string, string>, data = dataDir) => {
      const server = await startCustosServer(['--data', data, '--port', '0', '--policies', policyDir, '--no-demo'], { CUSTOS_LOG_LEVEL: 'warn', ...env });
      await detectionCaughtUp(ctx, server);
      return server;
    };
    const targets = (server: RunningServer, baseline: RunningServer) => ({
      guarded: { url: server.url, pid: server.pid, token, pairs, connections: sizes.connections },
      baseline: { url: baseline.url, pid: baseline.pid, token, pairs, connections: sizes.connections },
    });
    return withServer(ctx, await startBaselineServer(dataDir, { CUSTOS_LOG_LEVEL: 'warn' }), async (baseline) => {
      const figures = await withServer(ctx, await serve({}), (server) => measure(ctx, targets(server, baseline), sizes));
      // The pairs repeat within a run, so the figures above are mostly decision-cache hits. The
      // same load with the cache off shows what a reveal costs when Cedar answers every time.
      ctx.log('reveal: again with the decision cache off (CUSTOS_POLICY_CACHE=0)');
      figures.push(await withServer(ctx, await serve({ CUSTOS_POLICY_CACHE: '0' }), (server) => measureCacheOff(ctx, targets(server, baseline), sizes)));
      // Detection runs inside serve (the runs above had it on). The same fixed rate against a
      // server without it shows what it adds to the reveal path.
      // Each on a copy of the data of its own, so that neither reads the other's entries.
      ctx.log('reveal: live detection on and off at the fixed rate (CUSTOS_DETECT=false)');
      const offDir = `${dataDir}-no-detection`;
      cpSync(dataDir, offDir, { recursive: true });
      figures.push(await withServer(ctx, await serve({ CUSTOS_DETECT: 'false' }, offDir), async (off) =>
        withServer(ctx, await serve({}), (on) => measureDetection(ctx, targets(on, off), sizes))));
      return figures;
    });
  },
};

/**
 * Live detection rebuilds its state at start by replaying the whole ledger (earlier runs' reveals
 * included) in its worker. The figures are of the reveal path in steady state, so loading waits
 * until detection has handled every entry the ledger held at start (a server without detection
 * says nothing of it, and does not wait).
 */
async function detectionCaughtUp(ctx: BenchContext, server: RunningServer, deadlineMs = 600_000): Promise<void> {
  const started = nowMs();
  let target: number | undefined;
  for (;;) {
    const health = (await (await fetch(`${server.url}/healthz`)).json()) as { ledger?: { size: number }; detection?: { handled: number; state: string } };
    if (!health.detection) return;
    target ??= health.ledger?.size ?? 0;
    if (health.detection.handled >= target) break;
    if (health.detection.state === 'failed') throw new Error(`live detection failed while replaying the ledger (${server.url})`);
    if (nowMs() - started > deadlineMs) throw new Error(`live detection had not replayed ${target} ledger entries within ${deadlineMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  ctx.log(`reveal: live detection replayed the ledger's ${target} entries in ${((nowMs() - started) / 1000).toFixed(1)} s`);
}

/** Runs `fn` against a started server, then stops it and reports anything it logged or an unclean exit. */
async function withServer<T>(ctx: BenchContext, server: RunningServer, fn: (server: RunningServer) => Promise<T>): Promise<T> {
  try {
    return await fn(server);
  } finally {
    const code = await server.stop();
    if (code !== 0) ctx.warn(`a server (${server.url}) exited with ${code} on SIGTERM; its last output:\n${server.outputTail().join('\n')}`);
    // pino writes JSON lines; at CUSTOS_LOG_LEVEL=warn any of them is worth a look.
    const logged = server.outputTail().filter((line) => line.startsWith('{'));
    if (logged.length > 0) ctx.warn(`a server (${server.url}) logged ${logged.length} warning or error line(s) under load, the last: ${logged.at(-1)}`);
  }
}

/** Throughput only, guarded and unguarded alternating, on a server whose every reveal asks Cedar. */
async function measureCacheOff(ctx: BenchContext, target: Targets, sizes: Sizes): Promise<Figure> {
  await load(target.guarded, sizes.warmupSeconds);
  await load(target.baseline, sizes.warmupSeconds);
  const runs: RunPair[] = [];
  for (let i = 0; i < RUNS; i++) {
    const g = await load(target.guarded, sizes.seconds);
    const u = await load(target.baseline, sizes.seconds);
    ctx.log(`reveal: cache off run ${i + 1}/${RUNS}: guarded ${describe(g)}; unguarded ${describe(u)}`);
    runs.push({ value: g.rps, baseline: u.rps });
  }
  return pairedFigure({
    section: 'reveal',
    name: 'reveal throughput, decision cache off',
    unit: 'req/s',
    baselineName: BASELINE_NAME,
    runs,
    note: `the same load on a server started with CUSTOS_POLICY_CACHE=0, so Cedar answers every reveal (the figures above mostly hit the cache: ${target.guarded.pairs.length} customer/case pairs repeat within a run)`,
  });
}

/** Fixed-rate p99 with live detection (`guarded`) against the same server without it (`baseline`), alternating. */
async function measureDetection(ctx: BenchContext, target: Targets, sizes: Sizes): Promise<Figure> {
  await paced(target.guarded, sizes.warmupSeconds, sizes.fixedRate);
  await paced(target.baseline, sizes.warmupSeconds, sizes.fixedRate);
  const runs: RunPair[] = [];
  for (let i = 0; i < RUNS; i++) {
    const on = await paced(target.guarded, sizes.seconds, sizes.fixedRate);
    const off = await paced(target.baseline, sizes.seconds, sizes.fixedRate);
    ctx.log(`reveal: detection run ${i + 1}/${RUNS}: on ${describe(on)}; off ${describe(off)}`);
    runs.push({ value: on.p99, baseline: off.p99 });
  }
  return pairedFigure({
    section: 'reveal',
    name: `reveal p99 at ${sizes.fixedRate} req/s paced, live detection on`,
    unit: 'ms',
    baselineName: 'the same server with CUSTOS_DETECT=false',
    runs,
    target: { on: 'ratio', op: '<=', bound: 1.1 },
    note: 'two servers on copies of the same data, loaded in turn; with detection on, every reveal also reaches the detection engine through the event stream (off the request path), and the alerts it raises are stored. The figures above are of a server with detection on, the default',
  });
}

async function measure(ctx: BenchContext, target: Targets, sizes: Sizes): Promise<Figure[]> {
  const guarded = (rate?: number, seconds = sizes.seconds) => load(target.guarded, seconds, rate);
  const unguarded = (rate?: number, seconds = sizes.seconds) => load(target.baseline, seconds, rate);

  ctx.log(`reveal: warming up both servers (${sizes.warmupSeconds} s each)`);
  await guarded(undefined, sizes.warmupSeconds);
  await unguarded(undefined, sizes.warmupSeconds);

  const open: PairedRun[] = [];
  for (let i = 0; i < RUNS; i++) {
    const g = await guarded();
    const u = await unguarded();
    ctx.log(`reveal: run ${i + 1}/${RUNS}: guarded ${describe(g)}; unguarded ${describe(u)}`);
    open.push({ g, u });
  }
  const fixed: PairedRun[] = [];
  for (let i = 0; i < RUNS; i++) {
    const g = await guarded(sizes.fixedRate);
    const u = await unguarded(sizes.fixedRate);
    ctx.log(`reveal: fixed ${sizes.fixedRate} req/s run ${i + 1}/${RUNS}: guarded ${describe(g)}; unguarded ${describe(u)}`);
    fixed.push({ g, u });
  }
  const steady: PairedRun[] = [];
  for (let i = 0; i < RUNS; i++) {
    const g = await paced(target.guarded, sizes.seconds, sizes.fixedRate);
    const u = await paced(target.baseline, sizes.seconds, sizes.fixedRate);
    ctx.log(`reveal: paced ${sizes.fixedRate} req/s run ${i + 1}/${RUNS}: guarded ${describe(g)}; unguarded ${describe(u)}`);
    steady.push({ g, u });
  }

  const section = 'reveal';
  const baselineName = BASELINE_NAME;
  const pick = (runs: PairedRun[], k: keyof LoadRun): RunPair[] => runs.map((r) => ({ value: r.g[k], baseline: r.u[k] }));
  const achieved = pick(fixed, 'rps');
  const fellBehind = achieved.some((r) => r.value < 0.95 * sizes.fixedRate);
  const share = (k: 'g' | 'u') => `${(100 * median(open.map((r) => r[k].cpuShare))).toFixed(0)}%`;
  return [
    pairedFigure({ section, name: `reveal throughput, ${sizes.connections} conn`, unit: 'req/s', baselineName, runs: pick(open, 'rps'), target: { on: 'ratio', op: '>=', bound: 0.5 } }),
    pairedFigure({ section, name: 'reveal p50 latency', unit: 'ms', baselineName, runs: pick(open, 'p50') }),
    pairedFigure({ section, name: 'reveal p99 latency', unit: 'ms', baselineName, runs: pick(open, 'p99') }),
    pairedFigure({
      section,
      name: 'server CPU per request',
      unit: 'µs',
      baselineName,
      runs: pick(open, 'cpuUs'),
      note: `CPU time of the server process (/proc/PID/stat) over the throughput runs divided by responses; the server used ${share('g')} of one core in guarded runs, ${share('u')} in unguarded ones (the load generator shares the machine)`,
    }),
    pairedFigure({
      section,
      name: `reveal p99 at ${sizes.fixedRate} req/s, paced arrivals`,
      unit: 'ms',
      baselineName,
      runs: pick(steady, 'p99'),
      target: { on: 'value', op: '<=', bound: 20 },
      note:
        `request i due at i / ${sizes.fixedRate} s (a 1 ms timer), over at most ${sizes.connections} keep-alive connections; latency from when it was due to its response, ` +
        'so any wait for a free connection or a server that falls behind counts (no coordinated omission)',
    }),
    pairedFigure({
      section,
      name: `reveal p99 at ${sizes.fixedRate} req/s, in bursts (autocannon)`,
      unit: 'ms',
      baselineName,
      runs: pick(fixed, 'p99'),
      note:
        `latency from send to response, measured here per request (sub-ms); offered ${sizes.fixedRate} req/s over ${sizes.connections} connections. ` +
        "autocannon meters overallRate per connection per second (each connection sends back to back until its quota for the second is spent), so all connections burst at the top of each second: close to the saturated p99" +
        (fellBehind ? '. The server fell behind the offered rate in some run: requests it never got to are not in the latencies (coordinated omission)' : ''),
    }),
    pairedFigure({ section, name: `achieved rate at ${sizes.fixedRate} req/s`, unit: 'req/s', baselineName, runs: achieved }),
    summedFigure({
      section,
      name: 'non-2xx + errors, all runs',
      unit: 'responses',
      baselineName,
      runs: [...open, ...fixed].map((r) => ({ value: r.g.failures, baseline: r.u.failures })),
      target: { on: 'value', op: '=', bound: 0 },
    }),
  ];
}

/** A guarded run and the unguarded run right after it. */
interface PairedRun {
  g: LoadRun;
  u: LoadRun;
}

const BASELINE_NAME = 'unguarded read (bench/baseline-server.ts)';

/** The same reveal request for both servers; the baseline ignores the purpose. */
const revealRequest = (p: Pair) => ({
  path: `/v1/customers/${p.customer}/reveal`,
  body: JSON.stringify({ fields: FIELDS, purpose: { kind: 'case', ref: p.caseId } }),
});

interface Targets {
  guarded: LoadTarget;
  baseline: LoadTarget;
}

interface LoadTarget {
  url: string;
  pid: number;
  token: string;
  pairs: readonly Pair[];
  connections: number;
}

function describe(r: LoadRun): string {
  return `${r.rps.toFixed(0)} req/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, server CPU ${r.cpuUs.toFixed(0)} µs/req (${(100 * r.cpuShare).toFixed(0)}% of a core)`;
}

/** One autocannon run rotating over the pairs; latencies are kept here at full resolution. */
async function load(target: LoadTarget, seconds: number, rate?: number): Promise<LoadRun> {
  const { url, pid, token, pairs, connections } = target;
  // Bodies are built once: the client shares the CPU with the server and must stay cheap.
  const prepared = pairs.map(revealRequest);
  let next = 0;
  const latencies: number[] = [];
  const instance = autocannon({
    url,
    connections,
    duration: seconds,
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(rate !== undefined ? { overallRate: rate } : {}),
    requests: [
      {
        setupRequest: (req) => {
          const r = prepared[next++ % prepared.length] as { path: string; body: string };
          return { ...req, path: r.path, body: r.body };
        },
      },
    ],
  });
  // autocannon's own histogram keeps whole milliseconds only; these are sub-millisecond.
  instance.on('response', (_client, _status, _bytes, ms) => latencies.push(ms));
  const cpuBefore = cpuSecondsOf(pid);
  const wallBefore = nowMs();
  const result: AutocannonResult = await instance;
  const cpu = cpuSecondsOf(pid) - cpuBefore;
  const wall = (nowMs() - wallBefore) / 1000;
  return {
    rps: result.requests.average,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    failures: result.non2xx + result.errors + result.timeouts,
    cpuUs: (cpu * 1e6) / Math.max(1, latencies.length),
    cpuShare: cpu / wall,
  };
}

/**
 * Requests at a steady rate, as a service meets them: request i is due at start + i / rate (sent
 * on a 1 ms timer, so at most a few at once), over at most `connections` keep-alive sockets.
 * Latency runs from when a request was due, not from when it was sent, so a server (or a client)
 * that falls behind is charged for the wait (no coordinated omission, as wrk2 measures).
 * autocannon's overallRate instead sends each connection's quota for the second back to back at
 * the top of every second: 50 requests land at once, which measures a burst, not a rate.
 */
async function paced(target: LoadTarget, seconds: number, rate: number): Promise<LoadRun> {
  const { url, pid, token, pairs, connections } = target;
  const prepared = pairs.map(revealRequest);
  const { hostname, port } = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const total = Math.round(seconds * rate);
  const latencies: number[] = [];
  let failures = 0;
  const cpuBefore = cpuSecondsOf(pid);
  const start = nowMs();
  await new Promise<void>((resolve) => {
    let sent = 0;
    let answered = 0;
    const settle = (due: number, ok: boolean) => {
      latencies.push(nowMs() - due);
      if (!ok) failures++;
      if (++answered === total) resolve();
    };
    const send = () => {
      const now = nowMs();
      for (; sent < total && start + (sent * 1000) / rate <= now; sent++) {
        const due = start + (sent * 1000) / rate;
        const r = prepared[sent % prepared.length] as { path: string; body: string };
        const req = request({ agent, hostname, port, method: 'POST', path: r.path, headers }, (res) => {
          res.resume();
          res.on('end', () => settle(due, res.statusCode === 200));
        });
        req.on('error', () => settle(due, false));
        req.end(r.body);
      }
      if (sent < total) setTimeout(send, 1);
    };
    send();
  });
  const wall = (nowMs() - start) / 1000;
  const cpu = cpuSecondsOf(pid) - cpuBefore;
  agent.destroy();
  return {
    rps: total / wall,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    failures,
    cpuUs: (cpu * 1e6) / Math.max(1, latencies.length),
    cpuShare: cpu / wall,
  };
}

/**
 * Seeds the demo organisation in-process into `data/` under the section's scratch directory,
 * then opens a case for the agent on each of the first `pairs` non-canary customers (a canary
 * reveal is denied by design), with a budget no run can spend (in a copy of the policies at
 * `policies/`). Returns both directories and the pairs to rotate over. Shared with the broker
 * section, which reveals the same data in-process.
 */
export async function prepareDataDir(
  ctx: BenchContext,
  section: string,
  sizes: { customers: number; pairs: number },
): Promise<{ dataDir: string; policyDir: string; pairs: Pair[] }> {
  const dataDir = join(ctx.tmpDir, 'data');
  const policyDir = join(ctx.tmpDir, 'policies');
  cpSync(DEFAULT_POLICY_DIR, policyDir, { recursive: true });
  const rolesFile = join(policyDir, ROLES_FILE);
  const roles = JSON.parse(readFileSync(rolesFile, 'utf8')) as { roles: Record<string, { budget: { perHour: number; perDay: number } }> };
  const agent = roles.roles.agent;
  if (!agent) throw new Error(`${rolesFile}: no "agent" role`);
  agent.budget = { perHour: 1e9, perDay: 1e9 };
  writeFileSync(rolesFile, JSON.stringify(roles, null, 2));

  const config = loadConfig({ data: dataDir, policies: policyDir }, {});
  const custos = await openCustos(config);
  try {
    ctx.log(`${section}: seeding ${sizes.customers} demo customers`);
    await seedDemoIfEmpty(custos.store, custos.vault, custos.now(), sizes.customers);
    const now = custos.now();
    const openedAt = new Date(now.getTime() - 3_600_000).toISOString();
    const pairs: Pair[] = [];
    const cases: CaseRecord[] = [];
    for (let i = 1; pairs.length < sizes.pairs; i++) {
      if (i > sizes.customers) throw new Error(`only ${pairs.length} non-canary customers among ${sizes.customers}`);
      const customer = demoCustomer(i, CANARY_EVERY);
      if (customer.canary) continue;
      const caseId = `bench-${customer.id}`;
      pairs.push({ customer: customer.id, caseId });
      cases.push({ id: caseId, employee: AGENT, customer: customer.id, openedAt, kind: 'support' });
    }
    await custos.store.cases.upsertMany(cases, now);
    return { dataDir, policyDir, pairs };
  } finally {
    await custos.close();
  }
}

/** A token for the agent, signed with the data directory's own token key. */
async function agentToken(dataDir: string): Promise<string> {
  const config = loadConfig({ data: dataDir }, {});
  const issuer = await loadOrCreateTokenIssuer(config.keyDir);
  return issueToken(issuer, { subject: AGENT, issuer: config.auth.issuer, audience: config.auth.audience, ttlSeconds: 3 * 3600, now: new Date() });
}
