// Body checks "roughly like WAHA" (contract §3 Validation): only sendButtons and sendList run a
// validation pipe (400 with a list of messages); the other send endpoints have none, so a
// malformed body fails inside the engine as a 500 — and the sandbox answers the same way.
import { isGroup } from './engine-shapes.js';

export interface Refusal {
  status: number;
  /** For 500s the message goes into WAHA's exception body; otherwise the body as is. */
  body?: Record<string, unknown>;
  exception?: { name: string; message: string };
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';

function engineError(message: string, name = 'Error'): Refusal {
  return { status: 500, exception: { name, message } };
}

function badRequest(messages: string[]): Refusal {
  return { status: 400, body: { message: messages, error: 'Bad Request', statusCode: 400 } };
}

function unprocessable(message: string): Refusal {
  return { status: 422, body: { statusCode: 422, message, error: 'Unprocessable Entity' } };
}

function fileProblem(file: unknown, field = 'file'): Refusal | undefined {
  if (!isObj(file)) return engineError(`Cannot read properties of undefined (reading 'url')`, 'TypeError');
  if (!nonEmpty(file.url) && !nonEmpty(file.data)) return unprocessable(`Either "${field}.url" or "${field}.data" must be specified.`);
  if (file.url !== undefined && !/^https?:\/\//.test(String(file.url))) return engineError(`Invalid URL: ${String(file.url)}`, 'TypeError');
  return undefined;
}

const BUTTON_TYPES = ['reply', 'url', 'call', 'copy'];

function buttonsProblems(b: Record<string, unknown>): string[] {
  const out: string[] = [];
  if (!isStr(b.chatId)) out.push('chatId must be a string');
  for (const k of ['header', 'body', 'footer']) if (b[k] !== undefined && !isStr(b[k])) out.push(`${k} must be a string`);
  if (!Array.isArray(b.buttons)) return [...out, 'buttons must be an array'];
  if (b.buttons.length < 1) out.push('buttons must contain at least 1 elements');
  if (b.buttons.length > 4) out.push('buttons must contain no more than 4 elements');
  b.buttons.forEach((raw, i) => {
    if (!isObj(raw)) return void out.push(`buttons.${i} must be an object`);
    const type = raw.type ?? 'reply';
    if (!BUTTON_TYPES.includes(String(type))) out.push(`buttons.${i}.type must be one of the following values: ${BUTTON_TYPES.join(', ')}`);
    if (!isStr(raw.text)) out.push(`buttons.${i}.text must be a string`);
    if (raw.id !== undefined && !isStr(raw.id)) out.push(`buttons.${i}.id must be a string`);
    if (type === 'url' && !isStr(raw.url)) out.push(`buttons.${i}.url must be a string`);
    if (type === 'call' && !isStr(raw.phoneNumber)) out.push(`buttons.${i}.phoneNumber must be a string`);
    if (type === 'copy' && !isStr(raw.copyCode)) out.push(`buttons.${i}.copyCode must be a string`);
  });
  return out;
}

function listProblems(b: Record<string, unknown>): string[] {
  const out: string[] = [];
  if (!isStr(b.chatId)) out.push('chatId must be a string');
  const m = b.message;
  if (!isObj(m)) return [...out, 'message must be an object'];
  if (!nonEmpty(m.title)) out.push('message.title should not be empty');
  if (!nonEmpty(m.button)) out.push('message.button should not be empty');
  for (const k of ['description', 'footer']) if (m[k] !== undefined && m[k] !== null && !isStr(m[k])) out.push(`message.${k} must be a string`);
  if (!Array.isArray(m.sections) || m.sections.length < 1) return [...out, 'message.sections must contain at least 1 elements'];
  m.sections.forEach((s, i) => {
    if (!isObj(s)) return void out.push(`message.sections.${i} must be an object`);
    if (!isStr(s.title)) out.push(`message.sections.${i}.title must be a string`);
    if (!Array.isArray(s.rows) || s.rows.length < 1) return void out.push(`message.sections.${i}.rows must contain at least 1 elements`);
    s.rows.forEach((r, j) => {
      if (!isObj(r) || !isStr(r.title)) out.push(`message.sections.${i}.rows.${j}.title must be a string`);
      if (!isObj(r) || !isStr(r.rowId)) out.push(`message.sections.${i}.rows.${j}.rowId must be a string`);
    });
  });
  return out;
}

/** Runs before the session check: the validation pipe of sendButtons and sendList (400). */
export function pipeProblems(endpoint: string, b: Record<string, unknown>): Refusal | undefined {
  const problems = endpoint === '/api/sendButtons' ? buttonsProblems(b) : endpoint === '/api/sendList' ? listProblems(b) : [];
  return problems.length ? badRequest(problems) : undefined;
}

/** Runs inside the engine, after the session check: 500 (engine failure) or 422 (business rule). */
export function engineProblems(endpoint: string, b: Record<string, unknown>): Refusal | undefined {
  if (!nonEmpty(b.chatId)) return engineError(`Cannot read properties of undefined (reading 'endsWith')`, 'TypeError');
  switch (endpoint) {
    case '/api/sendText':
      return isStr(b.text) ? undefined : engineError('Text is required', 'Error');
    case '/api/sendImage':
    case '/api/sendFile':
    case '/api/sendVoice':
    case '/api/sendVideo':
      if (b.caption !== undefined && !isStr(b.caption)) return engineError('caption must be a string');
      return fileProblem(b.file);
    case '/api/sendPoll': {
      const p = b.poll;
      if (!isObj(p) || !nonEmpty(p.name)) return engineError(`Cannot read properties of undefined (reading 'name')`, 'TypeError');
      if (!Array.isArray(p.options) || p.options.length < 2 || p.options.length > 12 || !p.options.every(nonEmpty)) {
        return engineError('poll.options must be 2 to 12 non-empty strings');
      }
      return undefined;
    }
    case '/api/sendLocation':
      return Number.isFinite(b.latitude) && Number.isFinite(b.longitude) ? undefined : engineError('latitude and longitude must be numbers');
    case '/api/sendContactVcard': {
      if (!Array.isArray(b.contacts) || b.contacts.length === 0) return engineError(`Cannot read properties of undefined (reading 'map')`, 'TypeError');
      const bad = b.contacts.findIndex((c) => !isObj(c) || !(nonEmpty(c.vcard) || (nonEmpty(c.fullName) && nonEmpty(c.phoneNumber))));
      return bad >= 0 ? engineError(`contacts[${bad}] needs either vcard or fullName and phoneNumber`) : undefined;
    }
    case '/api/sendButtons':
      return b.headerImage !== undefined ? fileProblem(b.headerImage, 'headerImage') : undefined;
    case '/api/sendList':
      return isGroup(String(b.chatId)) ? unprocessable('List message can only be sent to a direct message chat.') : undefined;
    default:
      return undefined;
  }
}
