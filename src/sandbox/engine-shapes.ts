// What each WAHA engine puts on the wire for one message (contract §5.1, §7.6, §7.7). The engines
// disagree on where the id is and on `from`/`to`; the sandbox reproduces each so the client and
// the receiver are tested against all three.

export type Engine = 'WEBJS' | 'NOWEB' | 'GOWS';
export const ENGINES: readonly Engine[] = ['WEBJS', 'NOWEB', 'GOWS'];

export const ACK_NAMES: Record<number, string> = { [-1]: 'ERROR', 0: 'PENDING', 1: 'SERVER', 2: 'DEVICE', 3: 'READ', 4: 'PLAYED' };

/** One message the sandbox holds: sent through the API (fromMe) or injected as inbound. */
export interface SandboxMessage {
  /** Serialized id as webhooks and the chat history carry it: `{fromMe}_{chat}_{raw}[_{me}]`. */
  messageId: string;
  rawId: string;
  session: string;
  /** The chat in @c.us / @g.us form. */
  chatId: string;
  fromMe: boolean;
  /** For sends: the endpoint and the request body as accepted. */
  endpoint: string | null;
  body: Record<string, unknown>;
  text: string;
  hasMedia: boolean;
  ack: number;
  /** Unix seconds, as in WAHA payloads. */
  timestamp: number;
  at: string;
}

export function isGroup(chatId: string): boolean {
  return /@(g\.us|broadcast|newsletter)$/.test(chatId);
}

/** A bare number gets `@c.us` (WAHA `ensureSuffix`); `@s.whatsapp.net` is shown as `@c.us`. */
export function normalizeChatId(chatId: string): string {
  const c = chatId.trim().replace(/^\+/, '');
  if (/^\d+$/.test(c)) return `${c}@c.us`;
  return c.replace(/@s\.whatsapp\.net$/, '@c.us');
}

const jid = (chatId: string) => chatId.replace(/@c\.us$/, '@s.whatsapp.net');

function messageType(endpoint: string | null): string {
  switch (endpoint) {
    case '/api/sendImage': return 'image';
    case '/api/sendVoice': return 'ptt';
    case '/api/sendVideo': return 'video';
    case '/api/sendFile': return 'document';
    case '/api/sendPoll': return 'poll_creation';
    case '/api/sendLocation': return 'location';
    case '/api/sendContactVcard': return 'vcard';
    case '/api/sendButtons': return 'buttons';
    case '/api/sendList': return 'list';
    default: return 'chat';
  }
}

/** The Baileys / whatsmeow proto content of a message, shortened. */
function protoContent(m: SandboxMessage): Record<string, unknown> {
  const b = m.body;
  switch (messageType(m.endpoint)) {
    case 'image': return { imageMessage: { caption: b.caption ?? '', mimetype: (b.file as any)?.mimetype ?? 'image/jpeg' } };
    case 'ptt': return { audioMessage: { ptt: true, mimetype: 'audio/ogg; codecs=opus' } };
    case 'video': return { videoMessage: { caption: b.caption ?? '', mimetype: 'video/mp4' } };
    case 'document': return { documentMessage: { fileName: (b.file as any)?.filename ?? 'file', mimetype: (b.file as any)?.mimetype } };
    case 'poll_creation': return { pollCreationMessage: { name: (b.poll as any)?.name, options: ((b.poll as any)?.options ?? []).map((o: string) => ({ optionName: o })) } };
    case 'location': return { locationMessage: { degreesLatitude: b.latitude, degreesLongitude: b.longitude, name: b.title } };
    case 'vcard': return { contactsArrayMessage: { contacts: ((b.contacts as unknown[]) ?? []).map(() => ({ vcard: 'BEGIN:VCARD…' })) } };
    case 'buttons': return { viewOnceMessage: { message: { interactiveMessage: { body: { text: b.body ?? '' } } } } };
    case 'list': return { listMessage: { title: (b.message as any)?.title, buttonText: (b.message as any)?.button } };
    default: return { extendedTextMessage: { text: m.text } };
  }
}

/** The normalized WAMessage of webhooks (message, message.any) and of the chat history. */
export function waMessage(engine: Engine, me: string, m: SandboxMessage): Record<string, unknown> {
  // WEBJS: from = sender, to = recipient. NOWEB/GOWS: from = the chat; `to` absent (NOWEB) or null (GOWS) in DMs.
  const sender = m.fromMe ? me : m.chatId;
  const fromTo =
    engine === 'WEBJS'
      ? { from: sender, to: m.fromMe ? m.chatId : me }
      : engine === 'GOWS'
        ? { from: m.chatId, to: isGroup(m.chatId) ? sender : null }
        : { from: m.chatId, ...(isGroup(m.chatId) ? { to: m.chatId } : {}) };
  return {
    id: m.messageId,
    timestamp: m.timestamp,
    ...fromTo,
    fromMe: m.fromMe,
    source: m.fromMe ? 'api' : 'app',
    participant: isGroup(m.chatId) ? sender : null,
    body: m.text,
    hasMedia: m.hasMedia,
    media: null,
    ack: m.ack,
    ackName: ACK_NAMES[m.ack] ?? 'UNKNOWN',
    author: null,
    location: m.endpoint === '/api/sendLocation' ? { latitude: m.body.latitude, longitude: m.body.longitude, description: m.body.title } : null,
    vCards: [],
    replyTo: null,
    _data: engine === 'GOWS' ? { Info: { ID: m.rawId, IsFromMe: m.fromMe }, Message: protoContent(m) } : engine === 'NOWEB' ? { key: { remoteJid: jid(m.chatId), fromMe: m.fromMe, id: m.rawId }, message: protoContent(m) } : { id: { fromMe: m.fromMe, remote: m.chatId, id: m.rawId, _serialized: m.messageId }, type: messageType(m.endpoint) },
  };
}

/** The `message.ack` payload of each engine (contract §7.7). */
export function ackPayload(engine: Engine, me: string, m: SandboxMessage, ack: number): Record<string, unknown> {
  const ackName = ACK_NAMES[ack] ?? 'UNKNOWN';
  if (engine === 'WEBJS') {
    // An ERROR (-1) that WhatsApp reports after accepting the send flags the message (#2118, §6.4).
    const w = waMessage(engine, me, { ...m, ack });
    return { ...w, ack, ackName, ...(ack === -1 ? { _data: { ...(w._data as Record<string, unknown>), ack, isSendFailure: true } } : {}) };
  }
  if (engine === 'NOWEB') return { id: m.messageId, from: m.chatId, fromMe: true, ack, ackName };
  // GOWS: the whatsmeow receipt type behind each ack (§7.7); ERROR comes from `server-error`.
  const receipt = ack === -1 ? 'server-error' : ack === 3 ? 'read' : ack === 4 ? 'played' : '';
  return { id: m.messageId, from: m.chatId, to: null, participant: null, fromMe: true, ack, ackName, _data: { Type: receipt, MessageIDs: [m.rawId] } };
}

/** What the send endpoint answers with 201: each engine's own raw format (contract §5.1). */
export function sendResponse(engine: Engine, me: string, m: SandboxMessage): Record<string, unknown> {
  const type = messageType(m.endpoint);
  if (engine === 'WEBJS') {
    const id = { fromMe: true, remote: m.chatId, id: m.rawId, _serialized: `true_${m.chatId}_${m.rawId}` };
    return {
      _data: { id, body: m.text, type, t: m.timestamp, from: me, to: m.chatId, ack: 0, isNewMsg: true },
      id, ack: 0, hasMedia: m.hasMedia, body: m.text, type, timestamp: m.timestamp,
      from: me, to: m.chatId, deviceType: 'web', isForwarded: false, fromMe: true, hasQuotedMsg: false, links: [],
    };
  }
  if (engine === 'NOWEB') {
    // NOWEB answers polls with a normalized WAMessage, everything else with the raw Baileys proto.
    if (m.endpoint === '/api/sendPoll') return waMessage(engine, me, { ...m, ack: 0 });
    return { key: { remoteJid: jid(m.chatId), fromMe: true, id: m.rawId }, message: protoContent(m), messageTimestamp: String(m.timestamp), status: 'PENDING' };
  }
  return {
    id: m.messageId,
    _data: {
      Info: { Chat: jid(m.chatId), Sender: jid(me).replace('@', ':11@'), IsFromMe: true, IsGroup: isGroup(m.chatId), ID: m.rawId, Timestamp: new Date(m.timestamp * 1000).toISOString() },
      Message: protoContent(m),
    },
  };
}

/** The text WAHA shows as `body` for a sent message. */
export function bodyText(endpoint: string, b: Record<string, unknown>): string {
  switch (endpoint) {
    case '/api/sendText': return String(b.text ?? '');
    case '/api/sendPoll': return String((b.poll as any)?.name ?? '');
    case '/api/sendLocation': return String(b.title ?? '');
    case '/api/sendButtons': return String(b.body ?? '');
    case '/api/sendList': return String((b.message as any)?.description ?? (b.message as any)?.title ?? '');
    default: return String(b.caption ?? '');
  }
}
