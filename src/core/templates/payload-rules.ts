// The rules for each message type's payload, checked against WAHA's request bodies
// (waha-contract.md §3–4), producing the body that is sent (without session and chatId, which
// the queue build and the worker add per recipient).
import type { MediaRef } from '../media/media.repository.js';
import { FILE_TYPES, MEDIA_ASSET_SCHEME, type MessageType } from './message-types.js';
import { mediaFormat } from './media-format.js';
import { join, type PayloadChecker } from './payload-checker.js';

export interface PayloadOptions {
  media?: MediaRef;
  /** Templates checked outside a campaign (samples, `templates validate`) stand in a placeholder asset. */
  mediaPlaceholder?: boolean;
}

const REPLY = ['reply_to'];
const MENTIONS = ['mentions'];
const BUTTON_TYPES = ['reply', 'url', 'call', 'copy'] as const;
const IMAGE_MIME: Record<string, string> = { jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', gif: 'image/gif' };
const OTHER_MIME: Record<string, string> = {
  ogg: 'audio/ogg; codecs=opus', opus: 'audio/ogg; codecs=opus', mp3: 'audio/mpeg', m4a: 'audio/mp4', mp4: 'video/mp4', '3gp': 'video/3gpp',
  pdf: 'application/pdf', doc: 'application/msword', docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xls: 'application/vnd.ms-excel', xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', txt: 'text/plain', csv: 'text/csv',
};

function extensionOf(url: string): string {
  const clean = url.split(/[?#]/)[0]!;
  const dot = clean.lastIndexOf('.');
  return dot >= 0 ? clean.slice(dot + 1).toLowerCase() : '';
}

function isJpeg(file: Record<string, unknown>): boolean {
  const mime = String(file.mimetype ?? '').toLowerCase();
  if (mime) return mime === 'image/jpeg' || mime === 'image/jpg';
  return ['jpg', 'jpeg'].includes(extensionOf(String(file.url ?? '')));
}

const article = (word: string) => (/^[aeiou]/.test(word) ? 'an' : 'a');

function placeholderMedia(kind: NonNullable<(typeof FILE_TYPES)[MessageType]>): MediaRef {
  const byKind = { image: ['image/jpeg', 'image.jpg'], audio: ['audio/ogg; codecs=opus', 'voice.ogg'], video: ['video/mp4', 'video.mp4'], document: ['application/pdf', 'document.pdf'] } as const;
  return { id: 0, kind, mimetype: byKind[kind][0], filename: byKind[kind][1] };
}

/**
 * A file object: a URL (http/https, or media-asset://<id> for the Media Gallery, resolved at
 * send time to a public URL or base64 data) with its mimetype. When the template gives none, the
 * campaign's Media Gallery asset is used.
 */
function checkFile(
  c: PayloadChecker,
  value: unknown,
  path: string,
  kind: 'image' | 'audio' | 'video' | 'document',
  options: PayloadOptions,
  filenameOverride?: string,
): Record<string, unknown> | undefined {
  if (value === undefined) {
    const media = options.media ?? (options.mediaPlaceholder ? placeholderMedia(kind) : undefined);
    if (!media) {
      c.error(path, `is required: give ${path}.url, or set mediaAssetId in the campaign file to send a Media Gallery ${kind}`);
      return undefined;
    }
    if (media.kind !== kind) c.error(path, `the Media Gallery asset ${media.id} is ${article(media.kind)} ${media.kind}; this message needs ${article(kind)} ${kind}`);
    const file: Record<string, unknown> = { url: `${MEDIA_ASSET_SCHEME}${media.id}`, mimetype: media.mimetype, filename: filenameOverride ?? media.filename };
    return file;
  }
  const f = c.object(value, path);
  if (!f) return undefined;
  c.onlyKeys(f, path, ['url', 'mimetype', 'filename'], 'a file (give url; Media Gallery files are attached at send time)');
  if ('data' in f) return undefined;
  const url = c.string(f, 'url', path, { required: true });
  if (url !== undefined && !/^https?:\/\//i.test(url) && !url.startsWith(MEDIA_ASSET_SCHEME) && !url.startsWith('{{')) {
    c.error(join(path, 'url'), `must be an http(s) URL WAHA can download, or ${MEDIA_ASSET_SCHEME}<id> for a Media Gallery asset`);
  }
  const mimetype = c.string(f, 'mimetype', path) ?? (url ? (kind === 'image' ? IMAGE_MIME : OTHER_MIME)[extensionOf(url)] : undefined);
  if (url !== undefined && !mimetype) c.error(join(path, 'mimetype'), `is required when the URL has no known extension (for example "${placeholderMedia(kind).mimetype}")`);
  const filename = filenameOverride ?? c.string(f, 'filename', path);
  const out: Record<string, unknown> = { url, mimetype };
  if (filename !== undefined) out.filename = filename;
  return out;
}

function copyOptional(c: PayloadChecker, p: Record<string, unknown>, out: Record<string, unknown>, path: string, keys: string[]): void {
  for (const k of keys) {
    if (p[k] === undefined || p[k] === null) continue;
    if (k === 'mentions') {
      if (!Array.isArray(p[k]) || !(p[k] as unknown[]).every((x) => typeof x === 'string')) c.error(join(path, k), 'must be a list of chat ids such as "2432000000000@c.us"');
    } else if (['linkPreview', 'linkPreviewHighQuality', 'asNote', 'convert'].includes(k)) {
      if (typeof p[k] !== 'boolean') c.error(join(path, k), 'must be true or false');
    } else if (typeof p[k] !== 'string') c.error(join(path, k), 'must be text');
    out[k] = p[k];
  }
}

function checkButtons(c: PayloadChecker, p: Record<string, unknown>, path: string, options: PayloadOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const mode = p.button_mode;
  if (mode !== undefined && mode !== 'message_buttons' && mode !== 'image_buttons') {
    c.error(join(path, 'button_mode'), 'must be "message_buttons" or "image_buttons"');
  }
  for (const k of ['header', 'footer']) {
    const v = c.string(p, k, path);
    if (v !== undefined) out[k] = v;
  }
  out.body = c.string(p, 'body', path, { required: true });
  if (p.headerImage !== undefined || mode === 'image_buttons') {
    const file = checkFile(c, p.headerImage, join(path, 'headerImage'), 'image', options);
    if (file) {
      out.headerImage = file;
      if (!isJpeg(file)) c.warn(join(path, 'headerImage'), 'is not a JPEG; WhatsApp shows JPEG header images most reliably');
    }
  }
  const buttons = c.array(p, 'buttons', path, 1, 4, 'buttons') ?? [];
  out.buttons = buttons.map((b, i) => {
    const bp = join(join(path, 'buttons'), i);
    const o = c.object(b, bp);
    if (!o) return undefined;
    const type = o.type ?? 'reply';
    if (type === 'payment') {
      c.error(join(bp, 'type'), 'payment buttons are blocked: WAHA sendButtons takes reply, url, call or copy');
      return undefined;
    }
    if (!(BUTTON_TYPES as readonly string[]).includes(String(type))) {
      c.error(join(bp, 'type'), `must be one of ${BUTTON_TYPES.join(', ')}`);
      return undefined;
    }
    const need = { reply: [], url: ['url'], call: ['phoneNumber'], copy: ['copyCode'] }[type as (typeof BUTTON_TYPES)[number]];
    c.onlyKeys(o, bp, ['type', 'text', 'id', ...need], `a ${String(type)} button`);
    const btn: Record<string, unknown> = { type, text: c.string(o, 'text', bp, { required: true }) };
    if (o.id !== undefined) btn.id = c.string(o, 'id', bp);
    for (const k of need) btn[k] = c.string(o, k, bp, { required: true });
    if (type === 'url' && typeof btn.url === 'string' && !/^https?:\/\//i.test(btn.url) && !btn.url.startsWith('{{')) c.error(join(bp, 'url'), 'must be an http(s) URL');
    if (type === 'call' && typeof btn.phoneNumber === 'string' && !/^\+\d{6,15}$/.test(btn.phoneNumber.replace(/[\s-]/g, ''))) {
      c.error(join(bp, 'phoneNumber'), 'must be a full international number such as +243812345678');
    }
    return btn;
  });
  c.onlyKeys(p, path, ['button_mode', 'header', 'headerImage', 'body', 'footer', 'buttons'], 'a buttons payload');
  return out;
}

function checkList(c: PayloadChecker, p: Record<string, unknown>, path: string): Record<string, unknown> {
  c.onlyKeys(p, path, ['message', ...REPLY], 'a list payload');
  const mp = join(path, 'message');
  const m = c.object(p.message, mp);
  const out: Record<string, unknown> = {};
  copyOptional(c, p, out, path, REPLY);
  if (!m) return out;
  c.onlyKeys(m, mp, ['title', 'description', 'footer', 'button', 'sections'], 'a list message');
  const message: Record<string, unknown> = { title: c.string(m, 'title', mp, { required: true }), button: c.string(m, 'button', mp, { required: true }) };
  for (const k of ['description', 'footer']) if (m[k] !== undefined) message[k] = c.string(m, k, mp);
  const sections = c.array(m, 'sections', mp, 1, 10, 'sections') ?? [];
  message.sections = sections.map((s, i) => {
    const sp = join(join(mp, 'sections'), i);
    const so = c.object(s, sp);
    if (!so) return undefined;
    c.onlyKeys(so, sp, ['title', 'rows'], 'a list section');
    const rows = c.array(so, 'rows', sp, 1, 10, 'rows') ?? [];
    return {
      title: c.string(so, 'title', sp, { required: true }),
      rows: rows.map((r, j) => {
        const rp = join(join(sp, 'rows'), j);
        const ro = c.object(r, rp);
        if (!ro) return undefined;
        c.onlyKeys(ro, rp, ['title', 'rowId', 'description'], 'a list row');
        const row: Record<string, unknown> = { title: c.string(ro, 'title', rp, { required: true }), rowId: c.string(ro, 'rowId', rp, { required: true }) };
        if (ro.description !== undefined && ro.description !== null) row.description = c.string(ro, 'description', rp);
        return row;
      }),
    };
  });
  out.message = message;
  return out;
}

function checkContacts(c: PayloadChecker, p: Record<string, unknown>, path: string): Record<string, unknown> {
  c.onlyKeys(p, path, ['contacts', ...REPLY], 'a contact payload');
  const out: Record<string, unknown> = {};
  copyOptional(c, p, out, path, REPLY);
  const list = c.array(p, 'contacts', path, 1, 10, 'contacts') ?? [];
  out.contacts = list.map((x, i) => {
    const cp = join(join(path, 'contacts'), i);
    const o = c.object(x, cp);
    if (!o) return undefined;
    if (o.vcard !== undefined && o.vcard !== null) {
      c.onlyKeys(o, cp, ['vcard'], 'a vCard contact (give either vcard, or fullName and phoneNumber)');
      const v = c.string(o, 'vcard', cp, { required: true });
      if (v !== undefined && !(/^BEGIN:VCARD/i.test(v.trim()) && /END:VCARD$/i.test(v.trim()))) c.error(join(cp, 'vcard'), 'must start with BEGIN:VCARD and end with END:VCARD');
      return { vcard: v };
    }
    c.onlyKeys(o, cp, ['fullName', 'phoneNumber', 'organization', 'whatsappId', 'vcard'], 'a contact');
    const contact: Record<string, unknown> = { fullName: c.string(o, 'fullName', cp, { required: true }), phoneNumber: c.string(o, 'phoneNumber', cp, { required: true }) };
    if (o.organization !== undefined) contact.organization = c.string(o, 'organization', cp);
    if (o.whatsappId !== undefined) {
      const w = c.string(o, 'whatsappId', cp);
      if (w !== undefined && !/^\d{6,15}$/.test(w)) c.error(join(cp, 'whatsappId'), 'must be digits only, without + or @c.us (for example 243812345678)');
      contact.whatsappId = w;
    }
    return contact;
  });
  return out;
}

/** Checks one {type, payload} and returns the WAHA body without session and chatId. */
export function checkPayload(c: PayloadChecker, type: MessageType, value: unknown, path: string, options: PayloadOptions): Record<string, unknown> {
  const p = c.object(value, path);
  if (!p) return {};
  const out: Record<string, unknown> = {};
  const fileKind = FILE_TYPES[type];
  if (fileKind) {
    const extra = { image: [...REPLY, ...MENTIONS], voice: [...REPLY, 'convert'], video: [...REPLY, ...MENTIONS, 'asNote', 'convert'], file: [...REPLY, ...MENTIONS] }[type as 'image'];
    const captioned = type !== 'voice';
    c.onlyKeys(p, path, ['file', 'filename', ...(captioned ? ['caption'] : []), ...extra], `a ${type} payload`);
    const filename = c.string(p, 'filename', path);
    const file = checkFile(c, p.file, join(path, 'file'), fileKind, options, filename);
    if (file) out.file = file;
    if (type === 'image' && file && !isJpeg(file)) c.warn(join(path, 'file'), 'is not a JPEG; JPEG/JPG images are the most reliable on WhatsApp: test with a preview first');
    if (captioned && p.caption !== undefined) out.caption = c.string(p, 'caption', path);
    // Spec marks `convert` required (runtime default false): always sent, and true whenever the
    // file is not what WhatsApp plays (media-format.ts), decided here so queue rows keep it.
    if (type === 'voice' || type === 'video') {
      const format = mediaFormat(type, typeof file?.mimetype === 'string' ? file.mimetype : undefined);
      const asked = p.convert;
      if (asked !== undefined && typeof asked !== 'boolean') c.error(join(path, 'convert'), 'must be true or false');
      else if (file && asked === false && format.convert) {
        c.error(join(path, 'convert'), `is false, but the ${type} is ${String(file.mimetype)}: WhatsApp cannot play it. Remove "convert" (WAHA then converts it) or use ${type === 'voice' ? 'an OGG/Opus' : 'an MP4'} file`);
      }
      out.convert = asked === true || format.convert;
      if (file && format.reason) c.warn(join(path, 'file'), format.reason);
    }
    // WAHA's video caption defaults to "Just watch at this!": send an empty one rather than that.
    if (type === 'video' && out.caption === undefined) out.caption = '';
    copyOptional(c, p, out, path, extra.filter((k) => k !== 'convert'));
    return out;
  }
  switch (type) {
    case 'text': {
      c.onlyKeys(p, path, ['text', 'linkPreview', 'linkPreviewHighQuality', ...REPLY, ...MENTIONS], 'a text payload');
      out.text = c.string(p, 'text', path, { required: true });
      copyOptional(c, p, out, path, ['linkPreview', 'linkPreviewHighQuality', ...REPLY, ...MENTIONS]);
      return out;
    }
    case 'poll': {
      c.onlyKeys(p, path, ['poll', ...REPLY], 'a poll payload');
      const pp = join(path, 'poll');
      const poll = c.object(p.poll, pp);
      copyOptional(c, p, out, path, REPLY);
      if (!poll) return out;
      c.onlyKeys(poll, pp, ['name', 'options', 'multipleAnswers'], 'a poll');
      const options = (c.array(poll, 'options', pp, 2, 12, 'options') ?? []).map((o, i) => {
        if (typeof o !== 'string' || o.trim() === '') c.error(join(join(pp, 'options'), i), 'must be non-empty text');
        return o;
      });
      const seen = new Set<unknown>();
      options.forEach((o, i) => (seen.has(o) ? c.error(join(join(pp, 'options'), i), `repeats the option "${String(o)}"; options must differ`) : seen.add(o)));
      out.poll = { name: c.string(poll, 'name', pp, { required: true }), options, multipleAnswers: c.boolean(poll, 'multipleAnswers', pp) ?? false };
      return out;
    }
    case 'location': {
      c.onlyKeys(p, path, ['latitude', 'longitude', 'title', 'address', ...REPLY], 'a location payload');
      out.latitude = c.number(p, 'latitude', path, -90, 90);
      out.longitude = c.number(p, 'longitude', path, -180, 180);
      const title = c.string(p, 'title', path) ?? '';
      const address = c.string(p, 'address', path);
      // WAHA's sendLocation has no address field; the seed's address is shown under the title.
      out.title = address ? (title ? `${title}\n${address}` : address) : title;
      if (address) c.warn(join(path, 'address'), 'WAHA sendLocation has no address field: it is sent as the second line of the title');
      copyOptional(c, p, out, path, REPLY);
      return out;
    }
    case 'contact':
      return checkContacts(c, p, path);
    case 'buttons':
      return checkButtons(c, p, path, options);
    case 'list':
      return checkList(c, p, path);
    default:
      return out;
  }
}
