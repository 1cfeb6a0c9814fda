// The one error catalogue. Every error a person can cause or fix has a stable code, a message
// that says what to do, a CLI exit code and an HTTP status. Foreign errors (zod, SQLSTATE,
// fetch) are converted once, where they enter; anything else reaching an edge is a bug.
import type { z } from 'zod';

export const EXIT = {
  OK: 0,
  INTERNAL: 1,
  USAGE: 2,
  INVALID: 3,
  NOT_FOUND: 4,
  CONFLICT: 5,
  CONFIG: 6,
  DATABASE: 7,
  UPSTREAM: 8,
  UNHEALTHY: 9,
} as const;

interface CodeSpec {
  exit: number;
  http: number;
  what: string;
}

export const ERROR_CODES = {
  USAGE: { exit: EXIT.USAGE, http: 400, what: 'a flag or argument is missing or malformed' },
  NO_TTY: { exit: EXIT.USAGE, http: 400, what: 'the command needs an interactive terminal' },
  VALIDATION_FAILED: { exit: EXIT.INVALID, http: 422, what: 'input broke a rule' },
  TEMPLATE_INVALID: { exit: EXIT.INVALID, http: 422, what: 'a template broke a rule' },
  SETTINGS_INVALID: { exit: EXIT.INVALID, http: 422, what: 'a setting broke a rule' },
  PHONE_INVALID: { exit: EXIT.INVALID, http: 422, what: 'a phone number could not be used' },
  FILE_UNREADABLE: { exit: EXIT.INVALID, http: 422, what: 'an input file could not be read or parsed' },
  PAYLOAD_TOO_LARGE: { exit: EXIT.INVALID, http: 413, what: 'a body or file is over its size limit' },
  NOT_FOUND: { exit: EXIT.NOT_FOUND, http: 404, what: 'the thing named does not exist' },
  CAMPAIGN_NOT_FOUND: { exit: EXIT.NOT_FOUND, http: 404, what: 'no campaign has that id or name' },
  TEMPLATE_NOT_FOUND: { exit: EXIT.NOT_FOUND, http: 404, what: 'no template sample has that name' },
  CONTACT_NOT_FOUND: { exit: EXIT.NOT_FOUND, http: 404, what: 'no contact has that id or phone' },
  TEST_USER_NOT_FOUND: { exit: EXIT.NOT_FOUND, http: 404, what: 'no test user has that id, name or phone' },
  TEST_LIST_NOT_FOUND: { exit: EXIT.NOT_FOUND, http: 404, what: 'no test list has that id or name' },
  TEST_RUN_NOT_FOUND: { exit: EXIT.NOT_FOUND, http: 404, what: 'no test run has that id' },
  MEDIA_NOT_FOUND: { exit: EXIT.NOT_FOUND, http: 404, what: 'no media asset has that id' },
  SESSION_NOT_FOUND: { exit: EXIT.NOT_FOUND, http: 404, what: 'WAHA has no session of that name' },
  CONTENT_FROZEN: { exit: EXIT.CONFLICT, http: 409, what: 'approved content cannot change' },
  INVALID_TRANSITION: { exit: EXIT.CONFLICT, http: 409, what: 'the campaign is not in a state that allows this' },
  ALREADY_EXISTS: { exit: EXIT.CONFLICT, http: 409, what: 'something with that name already exists' },
  IN_USE: { exit: EXIT.CONFLICT, http: 409, what: 'the thing is still used elsewhere' },
  LIMIT_REACHED: { exit: EXIT.CONFLICT, http: 409, what: 'a pacing limit forbids this now' },
  CONFIG_MISSING: { exit: EXIT.CONFIG, http: 503, what: 'a required setting of the environment is missing' },
  CONFIG_INVALID: { exit: EXIT.CONFIG, http: 503, what: 'a setting of the environment is malformed' },
  DATABASE_UNAVAILABLE: { exit: EXIT.DATABASE, http: 503, what: 'the campaign database cannot be reached' },
  SCHEMA_OUT_OF_DATE: { exit: EXIT.DATABASE, http: 503, what: 'the database schema is older than this version' },
  EMBEDDED_DB_FAILED: { exit: EXIT.DATABASE, http: 503, what: 'the embedded database could not start' },
  WAHA_UNAVAILABLE: { exit: EXIT.UPSTREAM, http: 502, what: 'WAHA cannot be reached' },
  WAHA_REJECTED: { exit: EXIT.UPSTREAM, http: 502, what: 'WAHA refused the request' },
  SESSION_NOT_WORKING: { exit: EXIT.UPSTREAM, http: 409, what: 'the WAHA session is not WORKING, so nothing is sent on it' },
  NUMBER_BLOCKED: { exit: EXIT.CONFLICT, http: 409, what: 'the WhatsApp number opted out or is suppressed, so nothing is sent to it' },
  CRM_UNAVAILABLE: { exit: EXIT.UPSTREAM, http: 502, what: 'the CRM (Supabase) cannot be reached' },
  CRM_REJECTED: { exit: EXIT.UPSTREAM, http: 502, what: 'the CRM (Supabase) refused the request' },
  CRM_INCOMPLETE: { exit: EXIT.UPSTREAM, http: 502, what: 'the CRM returned a different number of users than it counted' },
  UNAUTHORIZED: { exit: EXIT.USAGE, http: 401, what: 'the request is not authenticated' },
  RATE_LIMITED: { exit: EXIT.CONFLICT, http: 429, what: 'too many attempts; wait and try again' },
  UNHEALTHY: { exit: EXIT.UNHEALTHY, http: 503, what: 'a component the configuration needs is down' },
  INTERNAL: { exit: EXIT.INTERNAL, http: 500, what: 'a bug: please report it with the details' },
  AMBIGUOUS_REFERENCE: { exit: EXIT.USAGE, http: 400, what: 'a name or phone matches more than one thing; use the id' },
  TEST_USER_INACTIVE: { exit: EXIT.CONFLICT, http: 409, what: 'the test user is deactivated; activate it first' },
  TEST_LIST_EMPTY: { exit: EXIT.CONFLICT, http: 409, what: 'the test list has no active member to send to' },
  TEST_RUN_INVALID_TRANSITION: { exit: EXIT.CONFLICT, http: 409, what: 'the test run is not in a state that allows this' },
} as const satisfies Record<string, CodeSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class CampaignError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'CampaignError';
    this.code = code;
    this.details = details;
  }

  get exitCode(): number {
    return ERROR_CODES[this.code].exit;
  }

  get httpStatus(): number {
    return ERROR_CODES[this.code].http;
  }

  toJSON(): { error: { code: ErrorCode; message: string; details: Record<string, unknown> } } {
    return { error: { code: this.code, message: this.message, details: this.details } };
  }
}

export function isCampaignError(e: unknown): e is CampaignError {
  return e instanceof CampaignError;
}

/** One problem with one field of some input: where, which rule, what to do. */
export interface Issue {
  path: string;
  message: string;
}

export function validationError(
  code: 'VALIDATION_FAILED' | 'TEMPLATE_INVALID' | 'SETTINGS_INVALID' | 'USAGE',
  issues: Issue[],
  lead = 'Input is not valid',
): CampaignError {
  const lines = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message));
  const message = issues.length === 1 ? `${lead}: ${lines[0]}` : `${lead}:\n  - ${lines.join('\n  - ')}`;
  return new CampaignError(code, message, { issues });
}

/** Parses input with a zod schema, or throws `code` listing every issue: the one place zod errors enter the catalogue. */
export function parseWith<T extends z.ZodType>(
  schema: T,
  input: unknown,
  code: 'VALIDATION_FAILED' | 'TEMPLATE_INVALID' | 'SETTINGS_INVALID' | 'USAGE',
  lead: string,
): z.output<T> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  throw validationError(code, zodIssues(r.error), lead);
}

/** Converts zod issues into our Issue shape, with a dotted JSON path (`payload.buttons[1].url`). */
export function zodIssues(
  error: { issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string; code?: string; keys?: ReadonlyArray<string> }> },
  prefix = '',
): Issue[] {
  return error.issues.flatMap((i) =>
    i.code === 'unrecognized_keys' && i.keys
      ? i.keys.map((k) => ({ path: joinPath(prefix, [...i.path, k]), message: 'is not a known field; remove it or check its spelling' }))
      : [{ path: joinPath(prefix, i.path), message: i.message }],
  );
}

export function joinPath(prefix: string, path: ReadonlyArray<PropertyKey>): string {
  let out = prefix;
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

/** Postgres SQLSTATEs that mean the server is not there (or going away) rather than a bug. */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006']);
const UNAVAILABLE_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH', 'EPIPE']);

/** Converts a pg / network error into a catalogue error, or returns undefined when it is not one we know. */
export function fromDatabaseError(e: unknown): CampaignError | undefined {
  if (!e || typeof e !== 'object') return undefined;
  const code = (e as { code?: unknown }).code;
  const message = (e as { message?: unknown }).message;
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_NODE_CODES.has(code))) {
    return new CampaignError(
      'DATABASE_UNAVAILABLE',
      `The campaign database is not reachable (${code}). Check DATABASE_URL, or unset it to use the embedded database; \`campaign db status\` shows which one is in use.`,
      { cause: String(message ?? code) },
    );
  }
  // The server answered but will not let us in: a database that does not exist, or a refused login.
  if (code === '3D000') {
    return new CampaignError(
      'DATABASE_UNAVAILABLE',
      `The campaign database named in DATABASE_URL does not exist (${String(message ?? code)}). Create it (for example \`createdb <name>\`) and run \`campaign db migrate\`, or fix the name in DATABASE_URL.`,
      { cause: String(message ?? code), sqlstate: code },
    );
  }
  if (code === '28000' || code === '28P01') {
    return new CampaignError(
      'DATABASE_UNAVAILABLE',
      `The campaign database refused the login (${String(message ?? code)}). Check the user and password in DATABASE_URL.`,
      { cause: String(message ?? code), sqlstate: code },
    );
  }
  // pg's own words when the server wants a SCRAM password and the URL carries none.
  if (typeof message === 'string' && /^SASL: .*client password must be a (non-empty )?string/.test(message)) {
    return new CampaignError(
      'DATABASE_UNAVAILABLE',
      'The campaign database refused the login: the server requires a password and the URL has none. Put the password in DATABASE_URL (postgres://user:password@host/db), or unset DATABASE_URL to use the embedded database.',
      { cause: message },
    );
  }
  if (typeof message === 'string' && /Connection terminated|connection timeout|Client has encountered a connection error/i.test(message)) {
    return new CampaignError('DATABASE_UNAVAILABLE', `The campaign database connection was lost: ${message}`, {});
  }
  return undefined;
}

/** SQLSTATE 23505: an insert or update lost a race to a unique index; the caller names what clashed. */
export function isUniqueViolation(e: unknown): boolean {
  return (e as { code?: unknown } | null)?.code === '23505';
}

/** Wraps anything thrown into a CampaignError; unknown errors become INTERNAL with their stack kept in details. */
export function toCampaignError(e: unknown): CampaignError {
  if (isCampaignError(e)) return e;
  const db = fromDatabaseError(e);
  if (db) return db;
  const err = e instanceof Error ? e : new Error(String(e));
  return new CampaignError('INTERNAL', `Unexpected error: ${err.message}`, { stack: err.stack });
}
