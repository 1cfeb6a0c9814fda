// One-time previews: what `campaign preview` and the server call.
export { previewContent, type PreviewContent } from './preview-content.js';
export { reservePreviewSend, type PreviewReservation } from './reserve-preview-send.js';
export { type PreviewInput, type PreviewPorts, type PreviewResult, sendPreview } from './send-preview.js';
