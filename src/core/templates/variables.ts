// Template variables: the five names a template may use, and the scan that finds unknown ones.
// Placeholders are canonicalised to `{{name}}` (no inner spaces) so the queue build can
// substitute them in SQL with a plain replace().
import { closest } from '../did-you-mean.js';
import { type Issue, validationError } from '../errors.js';

export const TEMPLATE_VARIABLES = ['first_name', 'brand', 'city', 'source', 'store_id'] as const;
export type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];
export type TemplateVars = Partial<Record<TemplateVariable, string | null | undefined>>;

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** Issues for every unknown `{{name}}` in a string, each naming the closest known variable. */
export function variableIssues(text: string, path: string): Issue[] {
  const issues: Issue[] = [];
  for (const m of text.matchAll(PLACEHOLDER)) {
    const name = m[1]!;
    if ((TEMPLATE_VARIABLES as readonly string[]).includes(name)) continue;
    const near = closest(name, TEMPLATE_VARIABLES);
    const hint = near ? `did you mean {{${near}}}?` : `known variables: ${TEMPLATE_VARIABLES.map((v) => `{{${v}}}`).join(', ')}`;
    issues.push({ path, message: `unknown variable {{${name}}}: ${hint}` });
  }
  return issues;
}

/** `{{ first_name }}` → `{{first_name}}`; only known names reach here. */
export function canonicalPlaceholders(text: string): string {
  return text.replace(PLACEHOLDER, (_all, name: string) => `{{${name}}}`);
}

/** Splits a canonical string into literal parts and variable names, for the renderer. */
export function splitPlaceholders(text: string): Array<string | { v: TemplateVariable }> {
  const parts: Array<string | { v: TemplateVariable }> = [];
  let last = 0;
  for (const m of text.matchAll(PLACEHOLDER)) {
    if (m.index! > last) parts.push(text.slice(last, m.index));
    parts.push({ v: m[1] as TemplateVariable });
    last = m.index! + m[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}

/** Checks values given for a render (`--vars`): known names only, text values. */
export function parseTemplateVars(input: unknown): TemplateVars {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw validationError('USAGE', [{ path: 'vars', message: 'must be a JSON object such as {"first_name": "Amani", "city": "Goma"}' }], 'Variables are not valid');
  }
  const issues: Issue[] = [];
  const vars: TemplateVars = {};
  for (const [k, v] of Object.entries(input)) {
    if (!(TEMPLATE_VARIABLES as readonly string[]).includes(k)) {
      const near = closest(k, TEMPLATE_VARIABLES);
      issues.push({ path: `vars.${k}`, message: `is not a template variable${near ? `: did you mean ${near}?` : ''} (known: ${TEMPLATE_VARIABLES.join(', ')})` });
    } else if (v !== null && typeof v !== 'string' && typeof v !== 'number') issues.push({ path: `vars.${k}`, message: 'must be text' });
    else vars[k as TemplateVariable] = v === null ? null : String(v);
  }
  if (issues.length > 0) throw validationError('USAGE', issues, 'Variables are not valid');
  return vars;
}
