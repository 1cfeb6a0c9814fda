// The CRM's names for things. Every CRM calls its tables and columns something else, so the
// audience code speaks in canonical names (users.phone, registrations.brand, …) and this mapping
// says what they are called in the CRM. CRM_SCHEMA is JSON that overrides any part of the
// defaults; it is validated here with zod, and each mistake names the key (docs/crm-shape.md).
import { z } from 'zod';
import { CampaignError, zodIssues } from '../errors.js';

/** The canonical user columns, in the order they are selected. */
export const USER_COLUMNS = ['id', 'name', 'first_name', 'last_name', 'phone', 'city', 'source', 'store_id', 'brand', 'banned', 'updated_at'] as const;
export type UserColumn = (typeof USER_COLUMNS)[number];


export const REGISTRATION_COLUMNS = ['user_id', 'brand'] as const;
export type RegistrationColumn = (typeof REGISTRATION_COLUMNS)[number];

/** Columns a CRM may lack: `null` in CRM_SCHEMA says "this CRM has no such column". */
type OptionalUserColumn = 'first_name' | 'last_name' | 'city' | 'source' | 'store_id' | 'brand' | 'banned' | 'updated_at';

/**
 * Columns used when the CRM has them: by default `first_name` and `last_name` are looked for
 * (one small request each, when the source is first used) and skipped when the CRM lacks them.
 * Named in CRM_SCHEMA they are required like any other column; `null` there says "none".
 */
export const PROBED_USER_COLUMNS = ['first_name', 'last_name'] as const;
export type ProbedUserColumn = (typeof PROBED_USER_COLUMNS)[number];
export type UserColumnNames = Record<Exclude<UserColumn, OptionalUserColumn>, string> & Record<OptionalUserColumn, string | null>;

export interface CrmMapping {
  /** The PostgREST schema (Accept-Profile); Supabase exposes `public` unless configured otherwise. */
  schema: string;
  users: { table: string; columns: UserColumnNames; /** Default columns used only if the CRM has them. */ probe: ProbedUserColumn[] };
  /** Null when the CRM has no registrations table: a user's brand is then users.brand alone. */
  registrations: { table: string; hint: string | null; columns: Record<RegistrationColumn, string> } | null;
}

export const DEFAULT_CRM_MAPPING: CrmMapping = {
  schema: 'public',
  users: {
    table: 'users',
    columns: {
      id: 'id', name: 'name', first_name: 'first_name', last_name: 'last_name', phone: 'phone', city: 'city', source: 'source',
      store_id: 'store_id', brand: 'brand', banned: 'banned', updated_at: 'updated_at',
    },
    probe: ['first_name', 'last_name'],
  },
  registrations: { table: 'user_brand_registrations', hint: null, columns: { user_id: 'user_id', brand: 'brand' } },
};

// Plain identifiers only: PostgREST's select and filter syntax reserves , . : ( ) ! and quotes,
// and a name that needs them is better renamed in a view than escaped here.
const identifier = z
  .string({ error: 'must be a table or column name (a string)' })
  .regex(/^[A-Za-z_][A-Za-z0-9_$]*$/, { message: 'must be a plain table or column name: letters, digits and _, not starting with a digit' })
  .max(63, { message: 'is longer than PostgreSQL allows (63 characters)' });

const requiredColumn = identifier;
const optionalColumn = identifier.nullable();

const usersSchema = z.strictObject({
  table: identifier.optional(),
  columns: z
    .strictObject({
      id: requiredColumn.optional(),
      name: requiredColumn.optional(),
      first_name: optionalColumn.optional(),
      last_name: optionalColumn.optional(),
      phone: requiredColumn.optional(),
      city: optionalColumn.optional(),
      source: optionalColumn.optional(),
      store_id: optionalColumn.optional(),
      brand: optionalColumn.optional(),
      banned: optionalColumn.optional(),
      updated_at: optionalColumn.optional(),
    })
    .optional(),
});

const registrationsSchema = z.strictObject({
  table: identifier.optional(),
  hint: identifier.optional(),
  columns: z.strictObject({ user_id: requiredColumn.optional(), brand: requiredColumn.optional() }).optional(),
});

const mappingSchema = z.strictObject({
  schema: identifier.optional(),
  users: usersSchema.optional(),
  registrations: registrationsSchema.nullable().optional(),
});

function invalid(lead: string, issues: Array<{ path: string; message: string }>): CampaignError {
  const lines = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message));
  return new CampaignError(
    'CONFIG_INVALID',
    `${lead}:\n  - ${lines.join('\n  - ')}\nFix CRM_SCHEMA in the environment or in .env (docs/crm-shape.md describes the format).`,
    { variable: 'CRM_SCHEMA', issues },
  );
}

/** Parses CRM_SCHEMA (JSON text or an object) over the defaults. Undefined or blank → defaults. */
export function parseCrmMapping(input: string | unknown | undefined): CrmMapping {
  if (input === undefined || (typeof input === 'string' && input.trim() === '')) return DEFAULT_CRM_MAPPING;
  let value: unknown = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (e) {
      throw invalid('CRM_SCHEMA is not valid JSON', [{ path: 'CRM_SCHEMA', message: (e as Error).message }]);
    }
  }
  const parsed = mappingSchema.safeParse(value);
  if (!parsed.success) throw invalid('CRM_SCHEMA is not valid', zodIssues(parsed.error, 'CRM_SCHEMA'));
  const m = parsed.data;
  const d = DEFAULT_CRM_MAPPING;
  const given = definedOnly(m.users?.columns ?? {});
  const userColumns: UserColumnNames = { ...d.users.columns, ...given };
  const probe = d.users.probe.filter((k) => !(k in given));
  // A default that another mapped column already names is not looked for (no clash is reported).
  for (const k of probe) {
    if (USER_COLUMNS.some((o) => o !== k && userColumns[o] === userColumns[k] && !probe.includes(o as ProbedUserColumn))) userColumns[k] = null;
  }
  const registrations =
    m.registrations === null
      ? null
      : {
          table: m.registrations?.table ?? d.registrations!.table,
          hint: m.registrations?.hint ?? null,
          columns: { ...d.registrations!.columns, ...definedOnly(m.registrations?.columns ?? {}) },
        };
  const mapping: CrmMapping = { schema: m.schema ?? d.schema, users: { table: m.users?.table ?? d.users.table, columns: userColumns, probe: probe.filter((k) => userColumns[k] !== null) }, registrations };

  const issues: Array<{ path: string; message: string }> = [];
  if (!registrations && !userColumns.brand) {
    issues.push({ path: 'CRM_SCHEMA.users.columns.brand', message: 'cannot be null when registrations is null: a user needs a brand from somewhere' });
  }
  const used = new Map<string, UserColumn>();
  for (const k of USER_COLUMNS) {
    const col = userColumns[k];
    if (!col) continue;
    const other = used.get(col);
    if (other) issues.push({ path: `CRM_SCHEMA.users.columns.${k}`, message: `names the same column "${col}" as users.columns.${other}` });
    else used.set(col, k);
  }
  if (registrations && registrations.columns.user_id === registrations.columns.brand) {
    issues.push({ path: 'CRM_SCHEMA.registrations.columns.brand', message: `names the same column "${registrations.columns.brand}" as registrations.columns.user_id` });
  }
  if (issues.length > 0) throw invalid('CRM_SCHEMA is not valid', issues);
  return mapping;
}

function definedOnly<T extends Record<string, unknown>>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as never;
}
