// The allowlist: every message type a campaign may send and the WAHA endpoint it goes to
// (waha-contract.md §4). Nothing else is sendable: not arbitrary endpoints, not operational calls
// (edit, delete, reaction, star, forward, status, channels) and not event messages.

export const MESSAGE_TYPES = {
  text: { endpoint: '/api/sendText', simple: true, fallbackOnly: false },
  image: { endpoint: '/api/sendImage', simple: true, fallbackOnly: false },
  voice: { endpoint: '/api/sendVoice', simple: true, fallbackOnly: false },
  video: { endpoint: '/api/sendVideo', simple: true, fallbackOnly: false },
  file: { endpoint: '/api/sendFile', simple: true, fallbackOnly: false },
  poll: { endpoint: '/api/sendPoll', simple: true, fallbackOnly: false },
  location: { endpoint: '/api/sendLocation', simple: true, fallbackOnly: false },
  contact: { endpoint: '/api/sendContactVcard', simple: true, fallbackOnly: false },
  buttons: { endpoint: '/api/sendButtons', simple: true, fallbackOnly: false },
  list: { endpoint: '/api/sendList', simple: false, fallbackOnly: false },
} as const;

export type MessageType = keyof typeof MESSAGE_TYPES;
export const MESSAGE_TYPE_NAMES = Object.keys(MESSAGE_TYPES) as MessageType[];

/** Types WAHA may answer 501 for, which therefore need a saved fallback. */
export const EXPERIMENTAL_TYPES: readonly MessageType[] = ['buttons', 'list'];
/** What a fallback may be: the two types every engine implements. */
export const FALLBACK_TYPES: readonly MessageType[] = ['text', 'poll'];
/** Types that carry a file (from a URL or the campaign's Media Gallery asset). */
export const FILE_TYPES: Readonly<Partial<Record<MessageType, 'image' | 'audio' | 'video' | 'document'>>> = {
  image: 'image',
  voice: 'audio',
  video: 'video',
  file: 'document',
};

/** Known WAHA calls and message kinds that are deliberately not sendable, with the reason. */
export const BLOCKED_TYPES: Readonly<Record<string, string>> = {
  event: 'event messages are reserved for appointment-style RSVP flows and are blocked in campaigns',
  edit: 'editing messages is an operational call, not a campaign message',
  delete: 'deleting messages is an operational call, not a campaign message',
  reaction: 'reactions are an operational call, not a campaign message',
  star: 'starring is an operational call, not a campaign message',
  forward: 'forwarding is an operational call, not a campaign message',
  status: 'status (stories) sends are blocked in campaigns',
  channel: 'channel sends are blocked in campaigns',
  seen: 'sendSeen is an operational call, not a campaign message',
  link_custom_preview: 'custom link previews are not supported; use text with linkPreview',
};

export const MEDIA_ASSET_SCHEME = 'media-asset://';
