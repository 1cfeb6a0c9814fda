// Turns a template document (simple or advanced) into what is sent: the WAHA endpoint and a
// payload with canonical `{{variable}}` placeholders, plus a fast renderer. Everything an operator
// can get wrong is reported at once, each issue with the JSON path of the field and the rule.
import { closest } from '../did-you-mean.js';
import { validationError } from '../errors.js';
import { BLOCKED_TYPES, EXPERIMENTAL_TYPES, FALLBACK_TYPES, MESSAGE_TYPE_NAMES, MESSAGE_TYPES, type MessageType } from './message-types.js';
import { join, PayloadChecker } from './payload-checker.js';
import { checkPayload, type PayloadOptions } from './payload-rules.js';
import { compileRenderer } from './render-payload.js';
import { type AdvancedDoc, simpleToAdvanced } from './simple-template.js';
import { canonicalPlaceholders, TEMPLATE_VARIABLES, type TemplateVariable, type TemplateVars, variableIssues } from './variables.js';

export interface RenderTarget {
  session: string;
  chatId: string;
}

export interface CompiledPart {
  messageType: MessageType;
  endpoint: string;
  /** The body without session and chatId, placeholders canonical (`{{first_name}}`). */
  payload: Record<string, unknown>;
}

export interface CompiledTemplate extends CompiledPart {
  mode: 'simple' | 'advanced';
  experimental: boolean;
  /** JSON text of `payload`; the queue build substitutes placeholders in it, in SQL. */
  payloadJson: string;
  fallback?: CompiledPart;
  fallbackJson?: string;
  /** Variables the template uses. */
  variables: TemplateVariable[];
  warnings: string[];
  render(vars: TemplateVars, target: RenderTarget): Record<string, unknown>;
  renderFallback(vars: TemplateVars, target: RenderTarget): Record<string, unknown> | undefined;
}

function checkType(c: PayloadChecker, value: unknown, path: string): MessageType | undefined {
  if (typeof value !== 'string' || value === '') {
    c.error(path, `is required: one of ${MESSAGE_TYPE_NAMES.join(', ')}`);
    return undefined;
  }
  if ((MESSAGE_TYPE_NAMES as string[]).includes(value)) return value as MessageType;
  const blocked = BLOCKED_TYPES[value.toLowerCase()];
  if (blocked) {
    c.error(path, `"${value}" is blocked: ${blocked}`);
    return undefined;
  }
  const near = closest(value.toLowerCase(), MESSAGE_TYPE_NAMES);
  c.error(path, `"${value}" is not an allowed message type${near ? `: did you mean "${near}"?` : ''} (allowed: ${MESSAGE_TYPE_NAMES.join(', ')})`);
  return undefined;
}

function walkStrings(value: unknown, path: string, visit: (s: string, path: string) => void): void {
  if (typeof value === 'string') visit(value, path);
  else if (Array.isArray(value)) value.forEach((v, i) => walkStrings(v, join(path, i), visit));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) walkStrings(v, join(path, k), visit);
}

function canonical(value: unknown): unknown {
  if (typeof value === 'string') return canonicalPlaceholders(value);
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, canonical(v)]));
  return value;
}

function toAdvanced(c: PayloadChecker, doc: Record<string, unknown>): { mode: 'simple' | 'advanced'; adv?: AdvancedDoc } {
  if ('endpoint' in doc) c.error('endpoint', 'endpoints are not arbitrary: remove "endpoint" and choose a "type"; the endpoint follows from the type');
  const mode = doc.mode ?? ('payload' in doc ? 'advanced' : 'simple');
  if (mode !== 'simple' && mode !== 'advanced') {
    c.error('mode', 'must be "simple" (friendly fields) or "advanced" ({type, payload, fallback?, experimental?})');
    return { mode: 'advanced' };
  }
  const type = checkType(c, doc.type, 'type');
  if (!type) return { mode };
  if (mode === 'simple') return { mode, adv: simpleToAdvanced(c, doc) };
  c.onlyKeys(doc, '', ['mode', 'type', 'payload', 'fallback', 'experimental'], 'an advanced template');
  if (doc.experimental !== undefined && typeof doc.experimental !== 'boolean') c.error('experimental', 'must be true or false');
  return { mode, adv: { type, payload: doc.payload, fallback: doc.fallback as AdvancedDoc['fallback'], experimental: doc.experimental as boolean | undefined } };
}

export function compileTemplate(input: unknown, options: PayloadOptions = {}): CompiledTemplate {
  const c = new PayloadChecker();
  if (!c.isObject(input)) throw validationError('TEMPLATE_INVALID', [{ path: '', message: 'a template must be a JSON object such as {"mode": "simple", "type": "text", "text": "Hi {{first_name}}"}' }], 'Template is not valid');
  const { mode, adv } = toAdvanced(c, input);
  walkStrings(input, '', (s, path) => c.issues.push(...variableIssues(s, path)));
  if (!adv) throw validationError('TEMPLATE_INVALID', c.issues, 'Template is not valid');

  const type = adv.type as MessageType;
  const payload = canonical(checkPayload(c, type, adv.payload, 'payload', options)) as Record<string, unknown>;
  let fallback: CompiledPart | undefined;
  const experimental = EXPERIMENTAL_TYPES.includes(type);
  if (experimental) {
    if (adv.experimental !== true) c.warn('experimental', `${type} messages are experimental in WAHA (most engines answer 501); mark the template "experimental": true and test it first`);
    const f = adv.fallback === undefined ? undefined : c.object(adv.fallback, 'fallback');
    if (adv.fallback === undefined) c.error('fallback', `is required for ${type}: a text or poll sent instead when WAHA answers 501`);
    if (f) {
      c.onlyKeys(f, 'fallback', ['type', 'payload'], 'a fallback');
      const ft = checkType(c, f.type, 'fallback.type');
      if (ft && !FALLBACK_TYPES.includes(ft)) c.error('fallback.type', `must be ${FALLBACK_TYPES.join(' or ')}: the types every WAHA engine sends`);
      else if (ft) fallback = { messageType: ft, endpoint: MESSAGE_TYPES[ft].endpoint, payload: canonical(checkPayload(c, ft, f.payload, 'fallback.payload', options)) as Record<string, unknown> };
    }
  } else if (adv.fallback !== undefined) {
    c.error('fallback', `is only used for buttons and list; a ${type} message is sent as it is`);
  }
  if (c.issues.length > 0) throw validationError('TEMPLATE_INVALID', c.issues, 'Template is not valid');

  const payloadJson = JSON.stringify(payload);
  const fallbackJson = fallback ? JSON.stringify(fallback.payload) : undefined;
  const used = TEMPLATE_VARIABLES.filter((v) => payloadJson.includes(`{{${v}}}`) || fallbackJson?.includes(`{{${v}}}`));
  const renderMain = compileRenderer(payload);
  const renderBack = fallback ? compileRenderer(fallback.payload) : undefined;
  return {
    mode,
    messageType: type,
    endpoint: MESSAGE_TYPES[type].endpoint,
    experimental,
    payload,
    payloadJson,
    fallback,
    fallbackJson,
    variables: used,
    warnings: c.warnings.map((w) => (w.path ? `${w.path}: ${w.message}` : w.message)),
    render: (vars, target) => ({ session: target.session, chatId: target.chatId, ...(renderMain(vars) as Record<string, unknown>) }),
    renderFallback: (vars, target) => (renderBack ? { session: target.session, chatId: target.chatId, ...(renderBack(vars) as Record<string, unknown>) } : undefined),
  };
}
