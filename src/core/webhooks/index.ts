// The WAHA webhook receiver's core: the server parses HTTP and authenticates, this decides.
export { verifyWahaSignature, signWahaBody, secretsEqual } from './verify-waha-signature.js';
export { parseWahaEvent, normaliseChatId, type WahaEvent } from './parse-waha-event.js';
export { ingestWahaEvent, type IngestResult, type IngestEffect, type IngestOptions } from './ingest-waha-event.js';
export { matchKeyword } from './match-keyword.js';
export type { KeywordSettings } from './handle-inbound-message.js';
export {
  WEBHOOK_PATH, WEBHOOK_EVENTS, WEBHOOK_RETRIES, engineConfigNeeded, webhookAuthMode, webhookUrl, webhookUrlToken, desiredWebhookConfig, maskWebhookConfig,
  createWahaSessionConfigClient, showWebhook, setupWebhook, type WebhookAuthMode, type WebhookComparison, type WahaWebhookConfig,
} from './webhook-setup.js';
export { listNotifications, latestNotificationId, markNotificationRead, type Notification } from './notifications.repository.js';
