/**
 * The closed set of errors Custos raises on purpose. Each has a stable code;
 * `httpStatusOf` and `exitCodeOf` map them once, for the API and the CLI.
 * Anything else that escapes is a bug and is reported as `internal`.
 */
export type ErrorCode =
  | 'invalid_input'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'too_large'
  | 'integrity'
  | 'unavailable'
  | 'config'
  | 'internal';

export abstract class CustosError extends Error {
  abstract readonly code: ErrorCode;
  /** Machine-readable details safe to show a client (never PII). */
  readonly details: Record<string, unknown>;
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = new.target.name;
    this.details = details;
  }
}

/** Where bad input is: the file and line, the field; for a file checked whole, every bad line found. */
export interface InputPlace {
  file?: string;
  line?: number;
  /** For a file that is one JSON array, the entry (from 1). */
  entry?: number;
  field?: string;
  problems?: Array<{ line: number; field?: string; message: string }>;
}

/** Bad input: a file line, an HTTP body, a flag. `where` names the place (file:line, field). */
export class InvalidInputError extends CustosError {
  readonly code = 'invalid_input' as const;
  constructor(message: string, readonly where?: InputPlace) {
    super(message, where ? { ...where } : {});
  }
}

export class UnauthenticatedError extends CustosError {
  readonly code = 'unauthenticated' as const;
}

/** Reasons a reveal or an action is refused; stable strings clients can switch on. */
export type DenyReason =
  | 'no_purpose'
  | 'purpose_not_linked'
  | 'case_closed'
  | 'field_not_allowed'
  | 'budget_exceeded'
  | 'actor_suspended'
  | 'actor_unknown'
  | 'canary'
  | 'separation_of_duties'
  | 'not_permitted';

/**
 * Reasons a denial is recorded with: every DenyReason, plus refusals recorded that are not a 403
 * (`not_found`: no such record, 404; `conflict`: the record's state forbids the act, 409;
 * `field_unknown`: a field the customer does not hold, 400).
 */
export type RecordedReason = DenyReason | 'not_found' | 'conflict' | 'field_unknown';

export class ForbiddenError extends CustosError {
  readonly code = 'forbidden' as const;
  constructor(message: string, readonly reason: DenyReason, details: Record<string, unknown> = {}) {
    super(message, { reason, ...details });
  }
}

export class NotFoundError extends CustosError {
  readonly code = 'not_found' as const;
}

export class ConflictError extends CustosError {
  readonly code = 'conflict' as const;
}

/** A request body or input over its size limit. */
export class TooLargeError extends CustosError {
  readonly code = 'too_large' as const;
}

/** Stored data failed a check: a ciphertext that does not authenticate, a ledger that does not verify. */
export class IntegrityError extends CustosError {
  readonly code = 'integrity' as const;
}

/** A dependency the request needs (the recorder, the store) could not do its part; fail closed. */
export class UnavailableError extends CustosError {
  readonly code = 'unavailable' as const;
}

/** Configuration or start-up problem: bad policy, unreadable key file, bad env var. */
export class ConfigError extends CustosError {
  readonly code = 'config' as const;
}

const HTTP_STATUS: Record<ErrorCode, number> = {
  invalid_input: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  integrity: 500,
  unavailable: 503,
  config: 500,
  internal: 500,
};

/** CLI exit codes, documented in the README. */
const EXIT_CODE: Record<ErrorCode, number> = {
  invalid_input: 2,
  unauthenticated: 3,
  forbidden: 4,
  not_found: 5,
  conflict: 6,
  too_large: 2,
  integrity: 7,
  unavailable: 8,
  config: 9,
  internal: 70,
};

export function codeOf(err: unknown): ErrorCode {
  return err instanceof CustosError ? err.code : 'internal';
}

export function httpStatusOf(err: unknown): number {
  return HTTP_STATUS[codeOf(err)];
}

export function exitCodeOf(err: unknown): number {
  return EXIT_CODE[codeOf(err)];
}
