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

/** What may follow a folder in a path: anything but white space, quotes and punctuation around it. */
const PATH_TAIL = '(?:[\\\\/][^\\s\'"\\x60(),;:]*)?';
const escapeRegExp = (s: string) => s.replace(/[.*+?^$(){}|[\]\\]/g, '\\$&');

/**
 * Replaces every mention of a server folder (and the path below it) with `replacement`, in the
 * message and in every string of the details. Longest folders first, so /tmp/x wins over /tmp.
 */
export function withoutServerPaths(err: CampaignError, folders: string[], replacement = '[server path]'): CampaignError {
  const roots = [...new Set(folders.map((f) => f.replace(/[\\/]+$/, '')).filter((f) => f.length > 1))].sort((a, b) => b.length - a.length);
  if (roots.length === 0) return err;
  const re = new RegExp(`(?:${roots.map(escapeRegExp).join('|')})${PATH_TAIL}`, 'g');
  const clean = (v: unknown): unknown => {
    if (typeof v === 'string') return v.replace(re, replacement);
    if (Array.isArray(v)) return v.map(clean);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clean(x)]));
    return v;
  };
  const message = clean(err.message) as string;
  const details = clean(err.details) as Record<string, unknown>;
  if (message === err.message && JSON.stringify(details) === JSON.stringify(err.details)) return err;
  return new CampaignError(err.code, message, details);
}

/**
 * The JSON body of an error response: never a stack trace, never an unexpected error's own text
 * (it may hold SQL or a file path: both go to the log), never a folder of this server.
 */
export function errorBody(err: CampaignError, serverFolders: string[] = []): ReturnType<CampaignError['toJSON']> {
  if (err.code === 'INTERNAL') {
    return new CampaignError('INTERNAL', 'Unexpected server error (a bug): the server log has the details.', {}).toJSON();
  }
  // The driver's own words name database hosts, ports and roles: the log keeps them, not the body.
  if (err.code.startsWith('DATABASE_') && 'cause' in err.details) {
    const { cause: _cause, ...details } = err.details;
    return withoutServerPaths(new CampaignError(err.code, err.message, details), serverFolders).toJSON();
  }
  return withoutServerPaths(err, serverFolders).toJSON();
}
