export { canonicalJson, contentHash } from './content-hash.js';
export { type CompiledPart, type CompiledTemplate, compileTemplate, type RenderTarget } from './compile-template.js';
export { BLOCKED_TYPES, EXPERIMENTAL_TYPES, MEDIA_ASSET_SCHEME, MESSAGE_TYPE_NAMES, MESSAGE_TYPES, type MessageType } from './message-types.js';
export type { PayloadOptions } from './payload-rules.js';
export { getSample, listSamples, type TemplateSample } from './samples.js';
export { parseTemplateVars, TEMPLATE_VARIABLES, type TemplateVariable, type TemplateVars } from './variables.js';
