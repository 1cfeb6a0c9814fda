// Raw phone → WhatsApp chat id, with libphonenumber-js's full ("max") metadata and strict
// parsing. Anything ambiguous is invalid: kept with its reason, never sent to (DESIGN.md).
import { parsePhoneNumberWithError, ParseError, type CountryCode } from 'libphonenumber-js/max';

export type PhoneResult =
  | { valid: true; e164: string; chatId: string; country: string | undefined }
  | { valid: false; reason: string };

export const DEFAULT_COUNTRY: CountryCode = 'CD';

// Zero-width and bidi marks that copy-paste from spreadsheets and chats leaves in numbers.
const INVISIBLE = /[\u00AD\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\uFEFF]/g;

export function normalisePhoneText(raw: string): string {
  return raw.normalize('NFKC').replace(INVISIBLE, '').trim();
}

export interface ParsePhoneOptions {
  defaultCountry?: CountryCode;
  /** Test users must give a full international number (+ or 00 and the country code). */
  requireInternational?: boolean;
}

export function parsePhone(raw: string | null | undefined, options: ParsePhoneOptions = {}): PhoneResult {
  if (raw === null || raw === undefined) return { valid: false, reason: 'no phone number' };
  let text = normalisePhoneText(String(raw));
  if (text === '') return { valid: false, reason: 'no phone number' };
  if (/[a-z]/i.test(text)) {
    return { valid: false, reason: /ext|x\s*\d|#/i.test(text) ? 'has an extension' : 'contains letters' };
  }
  if (/[,;/|]/.test(text) || /\d\s{2,}\+?\d{6,}/.test(text)) return { valid: false, reason: 'looks like several numbers' };
  // "(+243) 812…": a country code in parentheses is still a country code.
  text = text.replace(/^\(\s*(\+\d{1,4})\s*\)/, '$1 ');
  if (options.requireInternational && !/^(\+|00)/.test(text)) {
    return { valid: false, reason: 'needs the country code, for example +919876543210' };
  }
  try {
    const p = parsePhoneNumberWithError(text, { defaultCountry: options.defaultCountry ?? DEFAULT_COUNTRY, extract: false });
    if (p.ext) return { valid: false, reason: 'has an extension' };
    if (!p.isValid()) {
      const len = p.nationalNumber.length;
      const possible = p.isPossible();
      return { valid: false, reason: possible ? `not a valid number for +${p.countryCallingCode}` : len < 7 ? 'too short' : `not a valid number for +${p.countryCallingCode} (wrong length)` };
    }
    const e164 = p.number;
    return { valid: true, e164, chatId: `${e164.slice(1)}@c.us`, country: p.country };
  } catch (e) {
    if (e instanceof ParseError) {
      const reasons: Record<string, string> = {
        NOT_A_NUMBER: 'not a phone number',
        INVALID_COUNTRY: 'no known country code',
        TOO_SHORT: 'too short',
        TOO_LONG: 'too long',
        INVALID_LENGTH: 'wrong length',
      };
      return { valid: false, reason: reasons[e.message] ?? 'not a phone number' };
    }
    throw e;
  }
}
