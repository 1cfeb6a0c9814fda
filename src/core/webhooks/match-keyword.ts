// DESIGN.md "Opt-out": only a message whose whole text is a keyword counts ("stop" does,
// "please don't stop" does not). Case, surrounding spaces, inner runs of spaces and trailing
// full stops or exclamation marks are ignored, so "Stop!" and " STOP  ALL " match too.

export function normaliseKeyword(text: string): string {
  return text.normalize('NFC').trim().replace(/[.!]+$/u, '').trim().replace(/\s+/gu, ' ').toLocaleUpperCase('en-US');
}

/** The keyword the whole text is, or undefined. */
export function matchKeyword(text: string | null, keywords: readonly string[]): string | undefined {
  if (!text) return undefined;
  const t = normaliseKeyword(text);
  if (t === '') return undefined;
  return keywords.find((k) => normaliseKeyword(k) === t);
}
