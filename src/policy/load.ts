/**
 * Reading a policy directory: the schema, every `*.cedar` file and the roles file, parsed
 * and validated (strict mode) before anything is decided. Every problem stops start-up with
 * a ConfigError whose message names the file, the line and Cedar's own diagnostic, because
 * a policy that is silently skipped is a hole in the guard.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  checkParseSchema,
  policySetTextToParts,
  policyToJson,
  schemaToJson,
  validate,
  type ActionConstraint,
  type DetailedError,
  type EntityUidJson,
} from '@cedar-policy/cedar-wasm/nodejs';
import { ConfigError, type DenyReason } from '../errors.ts';
import { DENY_REASONS, isDenyReason } from './reasons.ts';
import { parseRoles, type RoleSpec } from './roles.ts';

export const SCHEMA_FILE = 'custos.cedarschema';
export const ROLES_FILE = 'roles.json';

/** The actions Custos asks about; the schema must declare each of them. */
export const POLICY_ACTIONS = ['view', 'search', 'reveal', 'manage', 'read_ledger', 'import', 'issue_token', 'rotate_key', 'prove_ledger', 'investigate', 'respond', 'ingest', 'notify', 'triage'] as const;
export type PolicyAction = (typeof POLICY_ACTIONS)[number];

export interface LoadedPolicy {
  /** `@id("...")` if given, else `<file>#<n>` (n-th policy of the file). */
  id: string;
  /** Path of the file it came from, as `dir` was given. */
  file: string;
  /** 1-based line where the policy (its first annotation) starts. */
  line: number;
  effect: 'permit' | 'forbid';
  /** For forbids: the `@reason` it reports, `not_permitted` when it names none. */
  reason?: DenyReason;
  text: string;
  /** Actions the policy can apply to, from its action scope. */
  actions: readonly PolicyAction[];
  /** Attribute names the policy reads (`x.attr`, `x has attr`), anywhere. */
  attributes: ReadonlySet<string>;
}

export interface PolicyDir {
  schema: string;
  policies: readonly LoadedPolicy[];
  roles: ReadonlyMap<string, RoleSpec>;
  /** Validator warnings (e.g. a policy that can never apply); they do not stop start-up. */
  warnings: readonly string[];
}

interface Located extends LoadedPolicy {
  /** Ids of the Role entities the policy names. */
  roleNames: ReadonlySet<string>;
  fileText: string;
  /** Byte offset of the policy in its file: Cedar reports byte offsets. */
  byteStart: number;
}

export function readPolicyDir(dir: string): PolicyDir {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw new ConfigError(`policy directory ${dir}: ${(err as Error).message}`, { file: dir });
  }
  const schemaFile = join(dir, SCHEMA_FILE);
  const schema = readText(schemaFile);
  checkSchema(schema, schemaFile);
  const rolesFile = join(dir, ROLES_FILE);
  const roles = parseRoles(readText(rolesFile), rolesFile);

  const cedarFiles = names.filter((n) => n.endsWith('.cedar')).sort();
  if (cedarFiles.length === 0) throw new ConfigError(`policy directory ${dir}: no .cedar policy files`, { file: dir });
  const policies: Located[] = [];
  const byId = new Map<string, Located>();
  for (const name of cedarFiles) {
    const file = join(dir, name);
    for (const p of parseFile(readText(file), file, name)) {
      const clash = byId.get(p.id);
      if (clash) throw new ConfigError(`${p.file}:${p.line}: policy id "${p.id}" is already used at ${clash.file}:${clash.line}`, { file: p.file, line: p.line });
      byId.set(p.id, p);
      policies.push(p);
    }
  }
  const warnings = validateAgainstSchema(schema, schemaFile, policies, byId);
  checkRoleNames(policies, roles, rolesFile);
  return {
    schema,
    policies: policies.map(({ fileText: _t, byteStart: _b, roleNames: _r, ...p }) => p),
    roles,
    warnings,
  };
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${file}: ${(err as Error).message}`, { file });
  }
}

function checkSchema(schema: string, file: string): void {
  const parsed = checkParseSchema(schema);
  if (parsed.type === 'failure') throw cedarError(file, schema, 0, parsed.errors, 'does not parse');
  const json = schemaToJson(schema);
  // Entities are built without a namespace (Employee::"e1"), so the schema must declare them there.
  const actions = json.type === 'success' ? json.json['']?.actions : undefined;
  const missing = POLICY_ACTIONS.filter((a) => !actions || !(a in actions));
  if (missing.length > 0) throw new ConfigError(`${file}: must declare action(s) ${missing.join(', ')} outside any namespace`, { file });
}

function parseFile(text: string, file: string, name: string): Located[] {
  const parts = policySetTextToParts(text);
  if (parts.type === 'failure') throw cedarError(file, text, 0, parts.errors, 'does not parse');
  if (parts.policy_templates.length > 0) {
    throw new ConfigError(`${file}: templates (policies with ?principal or ?resource) are not supported`, { file });
  }
  // Parts come back sorted by generated id, not in file order; each is an exact slice of the text.
  const taken = new Set<number>();
  const placed = parts.policies.map((policyText) => {
    let at = text.indexOf(policyText);
    while (at >= 0 && taken.has(at)) at = text.indexOf(policyText, at + 1);
    taken.add(at);
    return { policyText, at };
  });
  placed.sort((a, b) => a.at - b.at);
  return placed.map(({ policyText, at }, i) => {
    const byteStart = at >= 0 ? Buffer.byteLength(text.slice(0, at)) : 0;
    const line = lineColAt(text, byteStart).line;
    const json = policyToJson(policyText);
    if (json.type === 'failure') throw cedarError(file, text, byteStart, json.errors, 'does not parse');
    const p = json.json;
    const id = p.annotations?.id ?? `${name}#${i + 1}`;
    const reasonText = p.annotations?.reason;
    let reason: DenyReason | undefined;
    if (reasonText !== undefined) {
      if (p.effect !== 'forbid') throw new ConfigError(`${file}:${line}: policy "${id}": @reason applies to forbid policies only`, { file, line });
      if (!isDenyReason(reasonText)) {
        throw new ConfigError(`${file}:${line}: policy "${id}": @reason("${reasonText}") is not one of ${DENY_REASONS.join(', ')}`, { file, line });
      }
      reason = reasonText;
    } else if (p.effect === 'forbid') {
      reason = 'not_permitted';
    }
    const attributes = new Set<string>();
    collectAttributes(p.conditions, attributes);
    const roleNames = new Set<string>();
    collectRoleIds(p, roleNames);
    return {
      id,
      file,
      line,
      effect: p.effect,
      ...(reason ? { reason } : {}),
      text: policyText,
      actions: actionsOf(p.action),
      attributes,
      roleNames,
      fileText: text,
      byteStart,
    };
  });
}

function validateAgainstSchema(schema: string, schemaFile: string, policies: Located[], byId: Map<string, Located>): string[] {
  const answer = validate({
    schema,
    policies: { staticPolicies: Object.fromEntries(policies.map((p) => [p.id, p.text])) },
    validationSettings: { mode: 'strict' },
  });
  if (answer.type === 'failure') throw cedarError(schemaFile, schema, 0, answer.errors, 'cannot be used to validate');
  const locate = (policyId: string, e: DetailedError): { file?: string; line?: number; text: string } => {
    const p = byId.get(policyId);
    if (!p) return { text: `policy "${policyId}": ${describe(e)}` };
    const { line, col } = lineColAt(p.fileText, p.byteStart + (e.sourceLocations?.[0]?.start ?? 0));
    return { file: p.file, line, text: `${p.file}:${line}:${col}: ${describe(e)}` };
  };
  const where = (policyId: string, e: DetailedError): string => locate(policyId, e).text;
  const first = answer.validationErrors[0];
  if (first) {
    const at = locate(first.policyId, first.error);
    throw new ConfigError(`policies do not validate against ${schemaFile}:\n` + answer.validationErrors.map((v) => where(v.policyId, v.error)).join('\n'), {
      file: at.file ?? schemaFile,
      ...(at.line !== undefined ? { line: at.line } : {}),
    });
  }
  return [...answer.validationWarnings.map((v) => where(v.policyId, v.error)), ...answer.otherWarnings.map(describe)];
}

/**
 * A misspelt Role::"admni" validates (entity ids are not typed) but never matches: in a
 * forbid that silently lifts a restriction. Every role a policy names must exist.
 */
function checkRoleNames(policies: Located[], roles: ReadonlyMap<string, RoleSpec>, rolesFile: string): void {
  for (const p of policies) {
    for (const role of p.roleNames) {
      if (!roles.has(role)) {
        throw new ConfigError(`${p.file}:${p.line}: policy "${p.id}" names Role::"${role}", which ${rolesFile} does not define`, { file: p.file, line: p.line });
      }
    }
  }
}

function uidOf(uid: EntityUidJson): { type: string; id: string } {
  return '__entity' in uid ? uid.__entity : uid;
}

function isPolicyAction(id: string): id is PolicyAction {
  return (POLICY_ACTIONS as readonly string[]).includes(id);
}

/** Actions a scope can match. Anything else (an action group) conservatively means all. */
function actionsOf(scope: ActionConstraint): readonly PolicyAction[] {
  if (scope.op === 'All') return POLICY_ACTIONS;
  const uids = scope.op === '==' ? ('entity' in scope ? [scope.entity] : []) : 'entities' in scope ? scope.entities : [scope.entity];
  const ids = uids.map((u) => uidOf(u).id);
  return ids.length > 0 && ids.every(isPolicyAction) ? ids : POLICY_ACTIONS;
}

function collectAttributes(node: unknown, out: Set<string>): void {
  if (Array.isArray(node)) {
    for (const n of node) collectAttributes(n, out);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  for (const [key, value] of Object.entries(node)) {
    if ((key === '.' || key === 'has') && typeof value === 'object' && value !== null) {
      const attr: unknown = (value as { attr?: unknown }).attr;
      for (const a of Array.isArray(attr) ? attr : [attr]) if (typeof a === 'string') out.add(a);
    }
    collectAttributes(value, out);
  }
}

function collectRoleIds(node: unknown, out: Set<string>): void {
  if (Array.isArray(node)) {
    for (const n of node) collectRoleIds(n, out);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const o = node as Record<string, unknown>;
  if (o.type === 'Role' && typeof o.id === 'string') out.add(o.id);
  for (const value of Object.values(o)) collectRoleIds(value, out);
}

function lineColAt(text: string, byteOffset: number): { line: number; col: number } {
  const before = Buffer.from(text, 'utf8').subarray(0, byteOffset).toString('utf8');
  const lines = before.split('\n');
  return { line: lines.length, col: (lines.at(-1) ?? '').length + 1 };
}

function describe(e: DetailedError): string {
  const label = e.sourceLocations?.find((s) => s.label)?.label;
  return `${e.message}${label ? ` (${label})` : ''}${e.help ? `; help: ${e.help}` : ''}`;
}

/** Cedar's diagnostics, each pointed at file:line:col (offsets are relative to `base`). */
function cedarError(file: string, text: string, base: number, errors: DetailedError[], what: string): ConfigError {
  const lines = errors.map((e) => {
    const { line, col } = lineColAt(text, base + (e.sourceLocations?.[0]?.start ?? 0));
    return `${file}:${line}:${col}: ${describe(e)}`;
  });
  const first = errors[0]?.sourceLocations?.[0];
  const line = first ? lineColAt(text, base + first.start).line : undefined;
  return new ConfigError(`${file} ${what}:\n${lines.join('\n')}`, { file, ...(line !== undefined ? { line } : {}) });
}
