// The one place where anything thrown on the HTTP edge becomes a catalogue error with its HTTP
// status (ERROR_CODES[code].http). Fastify's own errors (body too large, malformed JSON, an
// unknown content type) are converted here too, so every error body has one shape:
// {error: {code, message, details}}.
import { CampaignError, toCampaignError } from '../core/errors.js';

interface FastifyishError {
  code?: string;
  statusCode?: number;
  message?: string;
}

export function toHttpError(e: unknown): CampaignError {
  if (e instanceof CampaignError) return e;
  const f = (e ?? {}) as FastifyishError;
  const status = typeof f.statusCode === 'number' ? f.statusCode : undefined;
  if (f.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || f.code === 'FST_REQ_FILE_TOO_LARGE' || f.code === 'FST_FILES_LIMIT' || status === 413) {
    return new CampaignError('PAYLOAD_TOO_LARGE', `The request body is over the size limit of this endpoint (${f.message ?? '413'}).`, {});
  }
  if (f.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || f.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || (e instanceof SyntaxError && status === 400)) {
    return new CampaignError('USAGE', `The request body is not valid JSON: ${f.message ?? ''}`.trim(), {});
  }
  if (f.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || status === 415) {
    return new CampaignError('USAGE', 'Unsupported content type: send JSON (Content-Type: application/json), or multipart/form-data for media uploads.', {});
  }
  if (status === 404) return new CampaignError('NOT_FOUND', f.message ?? 'Not found.', {});
  if (status === 401) return new CampaignError('UNAUTHORIZED', f.message ?? 'Not authenticated.', {});
  if (status === 429) return new CampaignError('RATE_LIMITED', f.message ?? 'Too many requests.', {});
  if (status !== undefined && status >= 400 && status < 500) return new CampaignError('USAGE', f.message ?? 'Bad request.', { fastifyCode: f.code ?? null });
  return toCampaignError(e);
}

/** The JSON body of an error response: never a stack trace (that goes to the log). */
export function errorBody(err: CampaignError): ReturnType<CampaignError['toJSON']> {
  const body = err.toJSON();
  if (err.code === 'INTERNAL') body.error.details = {};
  return body;
}
