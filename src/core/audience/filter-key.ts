// How audience filters compare values. A CRM holds whatever was typed ('Kinshasa ', 'KINSHASA',
// 'Lubumbashi  Nord', a non-breaking space, full-width letters), so a filter compares keys, on
// both sides: NFKC, trimmed, inner whitespace collapsed to one space, lower case.

/** The comparison key of a filter value or a CRM value. */
export function filterKey(value: string): string {
  return value.normalize('NFKC').trim().replace(/\s+/gu, ' ').toLowerCase();
}

/** Text as it should be shown and stored: NFKC, trimmed, inner whitespace collapsed; case kept. */
export function cleanSpelling(value: string): string {
  return value.normalize('NFKC').trim().replace(/\s+/gu, ' ');
}

/** The words of a key: what a CRM-side prefilter (ILIKE) can look for. */
export function keyWords(value: string): string[] {
  return filterKey(value).split(' ').filter(Boolean);
}
