// What one send attempt came to. A failed WhatsApp send is data the worker records, not an
// exception (STYLE.md); each kind maps to one row transition in worker/record-outcome.ts.

export type SendOutcome =
  /** WAHA took the message. `messageId` is as WAHA returned it (may be '' on an empty 201 body), `rawId` the bare id acks are matched on (contract §5). */
  | { kind: 'accepted'; messageId: string; rawId: string }
  /** The engine lacks this message type (buttons, list): the worker sends the saved fallback. */
  | { kind: 'not_implemented'; status: 501; error: string }
  /** The session is unknown, not WORKING, or WAHA refused our key: the recipient is not at fault. */
  | { kind: 'session_unavailable'; status?: string; reason: string }
  /** WAHA refused this request for good (other 4xx). */
  | { kind: 'rejected'; status: number; error: string }
  /** Nothing was sent: a 5xx, or the connection was refused before the request left. */
  | { kind: 'retryable'; status?: number; error: string }
  /** The request may have reached WAHA (timeout, connection lost after it left): promise 2. */
  | { kind: 'unknown'; error: string };

/** One message of a chat as WAHA stores it (GET /api/{session}/chats/{chatId}/messages). */
export interface ChatMessage {
  id: string;
  rawId: string;
  fromMe: boolean;
  timestampMs: number;
}
