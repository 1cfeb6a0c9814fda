// Simple mode: the friendly fields operators fill in, turned into the advanced {type, payload,
// fallback} form so both modes go through the same rules and render the same way.
import { join, type PayloadChecker } from './payload-checker.js';

export interface AdvancedDoc {
  type: string;
  payload: unknown;
  fallback?: { type: string; payload: unknown };
  experimental?: boolean;
}

const FIELDS: Record<string, string[]> = {
  text: ['text', 'linkPreview'],
  image: ['url', 'mimetype', 'caption'],
  voice: ['url', 'mimetype'],
  video: ['url', 'mimetype', 'caption'],
  file: ['url', 'mimetype', 'caption', 'filename'],
  poll: ['question', 'options', 'multipleAnswers'],
  location: ['latitude', 'longitude', 'title', 'address'],
  contact: ['fullName', 'phoneNumber', 'organization', 'whatsappId', 'vcard'],
  buttons: ['header', 'body', 'footer', 'buttons', 'imageUrl', 'useMediaImage', 'fallbackText', 'fallbackPoll'],
};

function fileOf(doc: Record<string, unknown>): Record<string, unknown> | undefined {
  if (doc.url === undefined) return undefined;
  return doc.mimetype === undefined ? { url: doc.url } : { url: doc.url, mimetype: doc.mimetype };
}

function pick(doc: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const k of keys) if (doc[k] !== undefined) o[k] = doc[k];
  return o;
}

/** Returns the advanced form, or undefined when the simple fields are unusable (issues recorded). */
export function simpleToAdvanced(c: PayloadChecker, doc: Record<string, unknown>): AdvancedDoc | undefined {
  const type = doc.type as string;
  if (type === 'list') {
    c.error('type', 'list messages are available in advanced mode only: use {"mode": "advanced", "type": "list", "payload": {...}, "fallback": {...}} (see `campaign templates show list_experimental`)');
    return undefined;
  }
  const fields = FIELDS[type];
  if (!fields) return undefined;
  c.onlyKeys(doc, '', ['mode', 'type', ...fields], `a simple ${type} template`);
  switch (type) {
    case 'text':
      return { type, payload: pick(doc, ['text', 'linkPreview']) };
    case 'image':
    case 'video':
      return { type, payload: { ...(fileOf(doc) ? { file: fileOf(doc) } : {}), ...pick(doc, ['caption']) } };
    case 'voice':
      return { type, payload: fileOf(doc) ? { file: fileOf(doc) } : {} };
    case 'file':
      return { type, payload: { ...(fileOf(doc) ? { file: fileOf(doc) } : {}), ...pick(doc, ['caption', 'filename']) } };
    case 'poll':
      if (doc.question === undefined) c.error('question', 'is required (the poll question)');
      return { type, payload: { poll: { name: doc.question, options: doc.options, ...pick(doc, ['multipleAnswers']) } } };
    case 'location':
      return { type, payload: pick(doc, ['latitude', 'longitude', 'title', 'address']) };
    case 'contact':
      return { type, payload: { contacts: [doc.vcard !== undefined ? { vcard: doc.vcard } : pick(doc, ['fullName', 'phoneNumber', 'organization', 'whatsappId'])] } };
    case 'buttons': {
      const payload: Record<string, unknown> = pick(doc, ['header', 'body', 'footer', 'buttons']);
      if (doc.imageUrl !== undefined) payload.headerImage = { url: doc.imageUrl };
      if (doc.useMediaImage === true) payload.button_mode = 'image_buttons';
      let fallback: AdvancedDoc['fallback'];
      if (doc.fallbackText !== undefined && doc.fallbackPoll !== undefined) c.error('fallbackPoll', 'give fallbackText or fallbackPoll, not both');
      if (doc.fallbackText !== undefined) fallback = { type: 'text', payload: { text: doc.fallbackText } };
      else if (doc.fallbackPoll !== undefined) {
        const fp = c.object(doc.fallbackPoll, 'fallbackPoll');
        if (fp) {
          c.onlyKeys(fp, 'fallbackPoll', ['question', 'options', 'multipleAnswers'], 'a fallback poll');
          fallback = { type: 'poll', payload: { poll: { name: fp.question, options: fp.options, ...pick(fp, ['multipleAnswers']) } } };
        }
      } else c.error(join('', 'fallbackText'), 'is required for buttons (or fallbackPoll): WAHA answers 501 for buttons on most engines, and the fallback is sent instead');
      return { type, payload, fallback, experimental: true };
    }
    default:
      return undefined;
  }
}
