// Pacing (promise 1): pure functions of (state, settings, now); no database, no I/O.
export { afterSend, type AfterSend } from './after-send.js';
export { dayBounds } from './day-bounds.js';
export { decidePacing } from './decide-pacing.js';
export { firstAllowedAt } from './first-allowed-at.js';
export { forecast, type Forecast, type ForecastInput } from './forecast.js';
export type { PacingDecision, PacingOptions, PacingReason, PacingState } from './pacing-state.js';
export { seededRandom } from './seeded-random.js';
export { isSendingTime, nextSendingTime } from './sending-window.js';
