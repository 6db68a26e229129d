import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { DEFAULT_POLICY_DIR } from './engine.ts';
import { POLICY_ACTIONS, readPolicyDir } from './load.ts';
import { policyDirWith, removePolicyDirs } from './test-policy-dir.ts';

afterAll(removePolicyDirs);

function loadError(dir: string): ConfigError {
  try {
    readPolicyDir(dir);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('readPolicyDir: the default policies', () => {
  const loaded = readPolicyDir(DEFAULT_POLICY_DIR);

  it('loads every policy with its file, line, effect and reason', () => {
    const canary = loaded.policies.find((p) => p.id === 'reveal-canary');
    expect(canary).toMatchObject({ file: join(DEFAULT_POLICY_DIR, 'reveal.cedar'), effect: 'forbid', reason: 'canary', actions: ['reveal'] });
    // The line of its first annotation in reveal.cedar.
    expect(canary!.line).toBe(9);
    expect(loaded.policies.find((p) => p.id === 'reveal')).toMatchObject({ effect: 'permit', actions: ['reveal'] });
    expect(loaded.policies.find((p) => p.id === 'reveal')!.reason).toBeUndefined();
    expect(loaded.warnings).toEqual([]);
  });

  it('knows which actions each policy can apply to and which attributes it reads', () => {
    const inactive = loaded.policies.find((p) => p.id === 'actor-inactive')!;
    expect(inactive.actions).toEqual(POLICY_ACTIONS);
    expect([...inactive.attributes]).toEqual(['status']);
    expect(loaded.policies.find((p) => p.id === 'view-and-search')!.actions).toEqual(['view', 'search']);
    expect([...loaded.policies.find((p) => p.id === 'reveal-case-linked')!.attributes]).toEqual(
      expect.arrayContaining(['purpose', 'case', 'id', 'ref', 'assignee', 'customer']),
    );
  });

  it('gives policies without @id an id from their file and position', () => {
    const dir = policyDirWith({ 'extra.cedar': 'permit (principal, action == Action::"view", resource);\nforbid (principal, action == Action::"import", resource);\n' });
    const loaded = readPolicyDir(dir);
    expect(loaded.policies.filter((p) => p.file === join(dir, 'extra.cedar')).map((p) => [p.id, p.line, p.reason])).toEqual([
      ['extra.cedar#1', 1, undefined],
      ['extra.cedar#2', 2, 'not_permitted'],
    ]);
  });
});

describe('readPolicyDir: what stops start-up', () => {
  it('a policy file with a syntax error, naming the file, the line and Cedar’s diagnostic', () => {
    const dir = policyDirWith({ 'broken.cedar': '// an operator edit\n\npermit (principal, action == Action::"view", resource)\nwhen { principal.status == "active" ;\n' });
    const err = loadError(dir);
    expect(err.message).toContain(join(dir, 'broken.cedar'));
    expect(err.message).toMatch(/broken\.cedar:4:\d+: /);
    expect(err.message).toContain('does not parse');
    expect(err.details).toMatchObject({ file: join(dir, 'broken.cedar'), line: 4 });
  });

  it('a policy that reads an attribute the schema does not declare', () => {
    const dir = policyDirWith({
      'nick.cedar': '\n@id("nickname")\nforbid (principal, action == Action::"reveal", resource)\nwhen { resource.nickname == "x" };\n',
    });
    const err = loadError(dir);
    expect(err.message).toContain(`policies do not validate against ${join(dir, 'custos.cedarschema')}`);
    expect(err.message).toMatch(/nick\.cedar:4:\d+: .*nickname/);
    expect(err.details).toMatchObject({ file: join(dir, 'nick.cedar'), line: 4 });
  });

  it('a policy for an action the schema does not declare', () => {
    const err = loadError(policyDirWith({ 'export.cedar': 'permit (principal, action == Action::"export", resource);' }));
    expect(err.message).toMatch(/export\.cedar:1:\d+: .*export/);
  });

  it('a @reason outside the DenyReason set, or on a permit', () => {
    const bad = loadError(policyDirWith({ 'vip.cedar': '@reason("vip")\nforbid (principal, action == Action::"reveal", resource) when { resource.vip };' }));
    expect(bad.message).toMatch(/vip\.cedar:1: policy "vip\.cedar#1": @reason\("vip"\) is not one of actor_unknown, actor_suspended, canary/);
    const onPermit = loadError(policyDirWith({ 'p.cedar': '@reason("canary")\npermit (principal, action == Action::"view", resource);' }));
    expect(onPermit.message).toContain('@reason applies to forbid policies only');
  });

  it('two policies with the same id, naming both places', () => {
    const dir = policyDirWith({ 'zz.cedar': '\n@id("reveal-canary")\nforbid (principal, action == Action::"reveal", resource) when { resource.vip };' });
    const err = loadError(dir);
    expect(err.message).toBe(`${join(dir, 'zz.cedar')}:2: policy id "reveal-canary" is already used at ${join(dir, 'reveal.cedar')}:9`);
  });

  it('a policy naming a role roles.json does not define (a typo would silently never match)', () => {
    const dir = policyDirWith({ 'typo.cedar': '@id("typo")\nforbid (principal in Role::"agnet", action == Action::"reveal", resource);' });
    const err = loadError(dir);
    expect(err.message).toBe(`${join(dir, 'typo.cedar')}:1: policy "typo" names Role::"agnet", which ${join(dir, 'roles.json')} does not define`);
  });

  it('a schema that does not parse, or lacks an action Custos asks about', () => {
    const dir = policyDirWith({ 'custos.cedarschema': 'entity Employee {\n  status: Strin,\n};\n' });
    const err = loadError(dir);
    expect(err.message).toContain(`${join(dir, 'custos.cedarschema')} does not parse`);
    expect(err.message).toMatch(/custos\.cedarschema:2:\d+: failed to resolve type: Strin/);
    const noImport = loadError(policyDirWith({ 'custos.cedarschema': 'entity Employee;\naction view appliesTo { principal: Employee, resource: Employee };\n' }));
    expect(noImport.message).toContain('must declare action(s) search, reveal, manage, read_ledger, import, issue_token, rotate_key, prove_ledger');
  });

  it('a missing schema, roles file or policy file, and a missing directory', () => {
    expect(loadError(policyDirWith({ 'custos.cedarschema': null })).message).toMatch(/custos\.cedarschema: ENOENT/);
    expect(loadError(policyDirWith({ 'roles.json': null })).message).toMatch(/roles\.json: ENOENT/);
    expect(loadError(policyDirWith({ 'baseline.cedar': null, 'reveal.cedar': null, 'access.cedar': null, 'operate.cedar': null, 'respond.cedar': null, 'triage.cedar': null })).message).toContain('no .cedar policy files');
    expect(loadError('/nonexistent/custos-policies').message).toContain('policy directory /nonexistent/custos-policies');
  });

  it('a malformed roles.json, naming the field', () => {
    const err = loadError(policyDirWith({ 'roles.json': JSON.stringify({ roles: { agent: { fields: ['email'], budget: { perHour: 60 } } } }) }));
    expect(err.message).toContain('roles.agent.budget.perDay');
  });

  it('templates, which Custos does not link', () => {
    const err = loadError(policyDirWith({ 't.cedar': 'permit (principal == ?principal, action == Action::"view", resource);' }));
    expect(err.message).toContain('templates');
  });
});
