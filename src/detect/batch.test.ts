import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DAY, HOUR, START, TestOrg, writeOrgFiles } from '../../test/support/detect-org.ts';
import { InvalidInputError } from '../errors.ts';
import { detectFromFiles, detectInWorker, loadDirectory } from './batch.ts';

function workload(): { org: TestOrg; employees: string[] } {
  const org = new TestOrg(600);
  const employees = ['emp-1', 'emp-2', 'emp-3', 'emp-4'].map((id) => org.employee(id, 'support', 'agent'));
  for (const e of employees) for (const d of TestOrg.weekdays(0, 14)) org.agentDay(e, d, 8);
  // A seller from day 10: tens of reveals a day with no case.
  for (const d of [10, 11]) for (let k = 0; k < 30; k++) org.event(START + d * DAY + 9 * HOUR + k * 600_000, 'emp-2', 'reveal', [org.someCustomer()]);
  org.event(START + 12 * DAY + 10 * HOUR, 'emp-3', 'view', [org.canary]);
  return { org, employees };
}

describe('detection from files', () => {
  it('gives the same alerts as the engine fed the same events in memory', async () => {
    const { org, employees } = workload();
    const dir = mkdtempSync(join(tmpdir(), 'custos-detect-'));
    const files = writeOrgFiles(org, dir, employees);
    const fromFiles = await detectFromFiles(files);
    const inMemory = org.detect().alerts;
    expect(inMemory.map((a) => a.employee).sort()).toEqual(['emp-2', 'emp-3']);
    expect(fromFiles.alerts).toEqual(inMemory);
    expect(fromFiles.events).toBe(org.events.length);
  });

  it('gives the same alerts in a worker thread, and its bad lines as the same errors', async () => {
    const { org, employees } = workload();
    const files = writeOrgFiles(org, mkdtempSync(join(tmpdir(), 'custos-detect-')), employees);
    const progress: number[] = [];
    const inWorker = await detectInWorker(files, { onProgress: (p) => progress.push(p.events) });
    expect(inWorker).toEqual(await detectFromFiles(files));
    expect(progress.at(-1)).toBe(org.events.length);
    writeFileSync(files.events, `${JSON.stringify({ ...org.events[0], action: 'peek' })}\n`);
    const err = await detectInWorker(files).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err).toMatchObject({ message: `${files.events}:1: field "action": must be one of view, reveal, search, export, update, delete`, where: { file: files.events, line: 1, field: 'action' } });
  });

  it('is deterministic: the same events give the same alerts, ids and explanations', async () => {
    const a = workload().org.detect().alerts;
    const b = workload().org.detect().alerts;
    expect(a.length).toBeGreaterThan(0);
    expect(b).toEqual(a);
  });

  it('reads of customers only what detection uses: personal fields are not checked, the clear ones are', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'custos-detect-'));
    const file = join(dir, 'customers.jsonl');
    const empty = join(dir, 'empty.jsonl');
    writeFileSync(empty, '');
    writeFileSync(file, `${JSON.stringify({ id: 'cus-1', country: 'it', canary: true, phone: 'not a phone' })}\n${JSON.stringify({ id: 'cus-2', country: 'IT', region: 'FR-75' })}\n`);
    const err = await loadDirectory({ customers: file, employees: empty, cases: empty }).catch((e: unknown) => e);
    expect((err as Error).message).toBe(`${file}:2: field "region": must be a subdivision of IT`);
    writeFileSync(file, `${JSON.stringify({ id: 'cus-1', country: 'it', canary: true, phone: 'not a phone' })}\n`);
    const directory = await loadDirectory({ customers: file, employees: empty, cases: empty });
    expect(directory.customer('cus-1')).toEqual({ canary: true, vip: false, country: 'IT' });
    expect(directory.isCanary('cus-1')).toBe(true);
  });

  it('stops at a bad event line, naming the file, the line and the field', async () => {
    const { org, employees } = workload();
    const dir = mkdtempSync(join(tmpdir(), 'custos-detect-'));
    const files = writeOrgFiles(org, dir, employees);
    writeFileSync(files.events, `${JSON.stringify(org.events[0])}\n${JSON.stringify({ ...org.events[1], action: 'peek' })}\n`);
    const err = await detectFromFiles(files).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as Error).message).toBe(`${files.events}:2: field "action": must be one of view, reveal, search, export, update, delete`);
  });

  it('refuses an event whose text holds a bidirectional control, escaped or raw, naming its field', async () => {
    const { org, employees } = workload();
    const dir = mkdtempSync(join(tmpdir(), 'custos-detect-'));
    const files = writeOrgFiles(org, dir, employees);
    // JSON.stringify writes U+202E raw; the escaped form is what another system's log may hold.
    for (const line of [JSON.stringify({ ...org.events[1], channel: 'web\u202e' }), JSON.stringify({ ...org.events[1], channel: 'web\u202e' }).replace('\u202e', '\\u202e')]) {
      writeFileSync(files.events, `${JSON.stringify(org.events[0])}\n${line}\n`);
      const err = await detectFromFiles(files).catch((e: unknown) => e);
      expect((err as Error).message, line).toBe(`${files.events}:2: field "channel": holds a bidirectional control character (U+202E); text may not contain NUL, bidirectional controls or lone surrogates`);
    }
  });
});
