// The only WAHA endpoints the worker may call: the ones templates render to. Anything else is a
// bug in a template or a stored row, and must never reach WAHA (it could be a delete or logout).

export const SEND_ENDPOINTS = [
  '/api/sendText',
  '/api/sendImage',
  '/api/sendVoice',
  '/api/sendVideo',
  '/api/sendFile',
  '/api/sendPoll',
  '/api/sendLocation',
  '/api/sendContactVcard',
  '/api/sendButtons',
  '/api/sendList',
] as const;

export type SendEndpoint = (typeof SEND_ENDPOINTS)[number];

export function isSendEndpoint(endpoint: string): endpoint is SendEndpoint {
  return (SEND_ENDPOINTS as readonly string[]).includes(endpoint);
}
