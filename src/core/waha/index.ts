// The WAHA client: what the worker, the commands and the server import.
export type { ChatMessage, SendOutcome } from './send-outcome.js';
export { messageIdFromResponse, rawMessageId } from './message-id.js';
export { isSendEndpoint, SEND_ENDPOINTS, type SendEndpoint } from './send-endpoints.js';
export { classifyFetchError, classifySendResponse } from './classify-send.js';
export { createWahaClient, DEFAULT_WAHA_TIMEOUT_MS, type WahaClient, type WahaClientOptions, type WahaSession } from './waha-client.js';
export { sessionOverview, type SessionOverview, type SessionOverviewRow } from './session-overview.js';
