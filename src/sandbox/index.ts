// The WAHA sandbox: `campaign sandbox`, the tests and the demo start it through here.
export { startSandbox, type Sandbox, type SandboxOptions } from './start-sandbox.js';
export { type Faults, NO_FAULTS, parseFaults } from './faults.js';
export { ENGINES, type Engine, type SandboxMessage } from './engine-shapes.js';
export { signBody, type WebhookAttempt, type WebhookEnvelope } from './webhook-sender.js';
export type { RecordedRequest } from './sandbox-core.js';
