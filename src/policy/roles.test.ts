import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { DEFAULT_POLICY_DIR } from './engine.ts';
import { parseRoles } from './roles.ts';

const FILE = 'policies/roles.json';

function rolesWith(agent: unknown): string {
  return JSON.stringify({ roles: { agent } });
}

function errorOf(text: string): ConfigError {
  try {
    parseRoles(text, FILE);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('roles.json', () => {
  it('defines the shipped roles with their allowances and budgets', () => {
    const roles = parseRoles(readFileSync(join(DEFAULT_POLICY_DIR, 'roles.json'), 'utf8'), FILE);
    expect([...roles.keys()].sort()).toEqual(['admin', 'agent', 'auditor', 'ingester', 'investigator', 'privacy_officer', 'security_analyst', 'supervisor']);
    expect(roles.get('agent')).toMatchObject({ fields: ['email', 'phone'], budget: { perHour: 60, perDay: 300 }, searchBudget: { perHour: 300, perDay: 1500 } });
    const investigator = roles.get('investigator')!;
    expect(investigator.fields).toEqual(expect.arrayContaining(['email', 'phone', 'name', 'address', 'birthDate']));
    expect(investigator.budget.perDay).toBeGreaterThan(300);
    expect(investigator.searchBudget).toEqual({ perHour: 600, perDay: 3000 });
    for (const id of ['supervisor', 'admin', 'privacy_officer', 'auditor', 'security_analyst']) {
      expect(roles.get(id)!.fields).toEqual([]);
      expect(roles.get(id)!.searchBudget.perDay).toBeGreaterThan(0);
    }
  });

  it.each([
    ['a budget that is missing', { fields: [] }, 'roles.agent.budget', 'is required'],
    ['a budget count that is text', { fields: [], budget: { perHour: '60', perDay: 300 } }, 'roles.agent.budget.perHour', 'whole number'],
    ['a negative budget', { fields: [], budget: { perHour: 1, perDay: -1 } }, 'roles.agent.budget.perDay', 'whole number'],
    ['more per hour than per day', { fields: [], budget: { perHour: 10, perDay: 5 } }, 'roles.agent.budget.perHour', 'more than perDay'],
    ['a search budget that is missing', { fields: [], budget: { perHour: 1, perDay: 1 } }, 'roles.agent.searchBudget', 'is required'],
    ['a search budget count that is fractional', { fields: [], budget: { perHour: 1, perDay: 1 }, searchBudget: { perHour: 1.5, perDay: 3 } }, 'roles.agent.searchBudget.perHour', 'whole number of searches'],
    ['more searches per hour than per day', { fields: [], budget: { perHour: 1, perDay: 1 }, searchBudget: { perHour: 10, perDay: 5 } }, 'roles.agent.searchBudget.perHour', 'more than perDay'],
    ['a misspelt search budget key', { fields: [], budget: { perHour: 1, perDay: 1 }, searchBudget: { perHour: 1, perday: 5 } }, 'roles.agent.searchBudget.perday', 'unknown key'],
    ['a misspelt key', { feilds: ['email'], fields: [], budget: { perHour: 1, perDay: 1 }, searchBudget: { perHour: 1, perDay: 1 } }, 'roles.agent.feilds', 'unknown key'],
    ['fields that are not a list', { fields: 'email', budget: { perHour: 1, perDay: 1 }, searchBudget: { perHour: 1, perDay: 1 } }, 'roles.agent.fields', 'list of field names'],
    ['a field name that is not one', { fields: ['email', 'e mail'], budget: { perHour: 1, perDay: 1 }, searchBudget: { perHour: 1, perDay: 1 } }, 'roles.agent.fields[1]', 'field name'],
    ['a field listed twice', { fields: ['email', 'email'], budget: { perHour: 1, perDay: 1 }, searchBudget: { perHour: 1, perDay: 1 } }, 'roles.agent.fields[1]', 'listed twice'],
  ])('rejects %s, naming the field', (_what, agent, field, message) => {
    const err = errorOf(rolesWith(agent));
    expect(err.message).toContain(FILE);
    expect(err.message).toContain(`${field}:`);
    expect(err.message).toContain(message);
    expect(err.details).toMatchObject({ file: FILE, field });
  });

  it('rejects text that is not JSON, a missing roles key, no roles and bad role names', () => {
    expect(errorOf('{ "roles": ').message).toMatch(/^policies\/roles\.json: not valid JSON/);
    expect(errorOf('{}').message).toContain('roles: is required');
    expect(errorOf('{"roles": {}}').message).toContain('defines no role');
    expect(errorOf('{"roles": [] }').message).toContain('roles: must be an object');
    expect(errorOf(JSON.stringify({ roles: { 'bad role': { fields: [], budget: { perHour: 0, perDay: 0 }, searchBudget: { perHour: 0, perDay: 0 } } } })).message).toContain('roles.bad role:');
  });
});
