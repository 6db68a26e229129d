/**
 * The roles file (`policies/roles.json`): each role's reveal allowance, which Cedar checks
 * (`principal.allowedFields`), and its reveal and search budgets, which the broker enforces.
 * Parsed once at start; every problem is a ConfigError naming the file and the field.
 */
import { ConfigError, InvalidInputError } from '../errors.ts';
import { checkId } from '../model.ts';

/** Acts (reveals, or searches) one actor may make, per rolling hour and per rolling day. */
export interface Budget {
  perHour: number;
  perDay: number;
}

export interface RoleSpec {
  id: string;
  description?: string;
  /** PII fields this role may reveal in clear; empty for roles that never see clear values. */
  fields: readonly string[];
  /** Reveals. */
  budget: Budget;
  /** Blind-index searches: each answers "is this e-mail or phone a customer?", so they are counted too. */
  searchBudget: Budget;
}

// Same shape as the PII field names model.parseCustomer accepts.
const FIELD_RE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const TOP_KEYS = new Set(['$comment', 'roles']);
const ROLE_KEYS = new Set(['description', 'fields', 'budget', 'searchBudget']);
const BUDGET_KEYS = new Set(['perHour', 'perDay']);

class RolesFile {
  constructor(readonly file: string) {}

  fail(field: string, message: string): never {
    throw new ConfigError(`${this.file}: ${field}: ${message}`, { file: this.file, field });
  }

  object(value: unknown, field: string): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(field, 'must be an object');
    return value as Record<string, unknown>;
  }

  closedObject(value: unknown, field: string, allowed: ReadonlySet<string>): Record<string, unknown> {
    const o = this.object(value, field);
    // A misspelt key ("feilds") would otherwise silently leave a default in place.
    for (const key of Object.keys(o)) if (!allowed.has(key)) this.fail(`${field}.${key}`, `unknown key; expected one of ${[...allowed].join(', ')}`);
    return o;
  }

  count(value: unknown, field: string, of: string): number {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) this.fail(field, `must be a whole number of ${of}, 0 or more`);
    return value;
  }

  budget(value: unknown, field: string, of: string): Budget {
    if (value === undefined) this.fail(field, 'is required: {"perHour": n, "perDay": n}');
    const b = this.closedObject(value, field, BUDGET_KEYS);
    const perHour = this.count(b.perHour, `${field}.perHour`, of);
    const perDay = this.count(b.perDay, `${field}.perDay`, of);
    if (perHour > perDay) this.fail(`${field}.perHour`, `is more than perDay (${perDay})`);
    return Object.freeze({ perHour, perDay });
  }
}

/** Parse the roles file's text; `file` names it in errors. */
export function parseRoles(text: string, file: string): ReadonlyMap<string, RoleSpec> {
  // Annotated so that calls to f.fail (never) narrow types.
  const f: RolesFile = new RolesFile(file);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${file}: not valid JSON: ${(err as Error).message}`, { file });
  }
  const top = f.closedObject(raw, '(top level)', TOP_KEYS);
  if (top.roles === undefined) f.fail('roles', 'is required');
  const rolesObj = f.object(top.roles, 'roles');
  const roles = new Map<string, RoleSpec>();
  for (const [id, value] of Object.entries(rolesObj)) {
    const at = `roles.${id}`;
    try {
      // Employee records carry roles checked the same way (model.parseEmployee).
      checkId(id, 'role');
    } catch (err) {
      if (err instanceof InvalidInputError) f.fail(at, 'role names must be 1-128 letters, digits and . _ : @ - (starting with a letter or digit)');
      throw err;
    }
    const o = f.closedObject(value, at, ROLE_KEYS);
    if (o.description !== undefined && typeof o.description !== 'string') f.fail(`${at}.description`, 'must be a string');
    if (!Array.isArray(o.fields)) f.fail(`${at}.fields`, 'is required: a list of field names, [] for none');
    const fields: string[] = [];
    for (const [i, name] of (o.fields as unknown[]).entries()) {
      if (typeof name !== 'string' || !FIELD_RE.test(name)) f.fail(`${at}.fields[${i}]`, 'must be a field name (letters, digits and _, starting with a letter)');
      if (fields.includes(name)) f.fail(`${at}.fields[${i}]`, `"${name}" is listed twice`);
      fields.push(name);
    }
    roles.set(id, {
      id,
      ...(typeof o.description === 'string' ? { description: o.description } : {}),
      fields: Object.freeze(fields),
      budget: f.budget(o.budget, `${at}.budget`, 'reveals'),
      searchBudget: f.budget(o.searchBudget, `${at}.searchBudget`, 'searches'),
    });
  }
  if (roles.size === 0) f.fail('roles', 'defines no role');
  return roles;
}
