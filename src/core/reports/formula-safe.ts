// A CSV cell that a spreadsheet would run as a formula (`=HYPERLINK(...)`, `+cmd|...`) is a way
// for anyone who controls a contact's name or a WAHA error text to attack whoever opens the
// report. OWASP's rule: prefix such cells with a single quote so they are shown as text.
const FORMULA_START = new Set(['=', '+', '-', '@', '\t', '\r']);

export function formulaSafe(value: string): string {
  return value.length > 0 && FORMULA_START.has(value[0]!) ? `'${value}` : value;
}
