// Error responses of the HTTP API, one shape for all of them. The etl-watcher SDK raises
// `WatcherAPIError` from the JSON fields `message`, `error`, `code` and `details`; FastAPI
// clients read `detail`. Every 4xx names the field or the thing that was wrong.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { isTransientDbError } from '../store/db.js';

export interface ErrorBody {
  /** One line a person can act on, naming the field when there is one. */
  message: string;
  /** A stable machine-readable kind: validation_error, not_found, conflict, unauthorized, ... */
  error: string;
  /** The HTTP status, repeated for clients that only see the body. */
  code: number;
  details?: Array<{ field: string; message: string }>;
  /** FastAPI's field, for clients written against etl-watcher's server. */
  detail: string;
}

/** Thrown by route handlers for an expected failure: a 4xx (or 503) with a clear message. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly kind: string,
    message: string,
    readonly details?: Array<{ field: string; message: string }>,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const notFound = (what: string) => new ApiError(404, 'not_found', `${what} not found`);
export const conflict = (message: string) => new ApiError(409, 'conflict', message);
export const badRequest = (message: string, field?: string) =>
  new ApiError(400, 'bad_request', message, field ? [{ field, message }] : undefined);
export const invalid = (field: string, message: string) => new ApiError(422, 'validation_error', `${field}: ${message}`, [{ field, message }]);

export function errorBody(code: number, error: string, message: string, details?: ErrorBody['details']): ErrorBody {
  return { message, error, code, ...(details ? { details } : {}), detail: message };
}

/** Postgres data exceptions (class 22) caused by a value the client sent. */
const POSTGRES_INPUT_ERRORS: Record<string, string> = {
  '22021': 'a text value holds a character Postgres cannot store (e.g. NUL)',
  '22P05': 'a JSON value holds a character Postgres cannot store (e.g. \\u0000)',
  '22003': 'a number is out of range',
  '22008': 'a date or time is out of range',
  '22007': 'a date or time is not valid',
  '22P02': 'a value has the wrong format',
  '22001': 'a text value is too long',
};

function fieldOf(context: string | undefined, instancePath: string, params: Record<string, unknown>): string {
  const parts = instancePath.split('/').filter(Boolean);
  // An unknown key is reported on its parent object: name the key itself.
  if (Array.isArray(params.keys) && params.keys.length) parts.push(String(params.keys[0]));
  return [context ?? 'body', ...parts].join('.');
}

/** Fastify's error handler: validation -> 422, our ApiError -> its status, Postgres away -> 503. */
export function handleError(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  if (hasZodFastifySchemaValidationErrors(err)) {
    const context = (err as { validationContext?: string }).validationContext;
    const details = err.validation.map((v) => ({ field: fieldOf(context, v.instancePath, v.params as Record<string, unknown>), message: v.message ?? 'invalid' }));
    const message = details.map((d) => `${d.field}: ${d.message}`).join('; ');
    void reply.code(422).send(errorBody(422, 'validation_error', message, details));
    return;
  }
  if (err instanceof ApiError) {
    void reply.code(err.statusCode).send(errorBody(err.statusCode, err.kind, err.message, err.details));
    return;
  }
  const pgCode = (err as { code?: string }).code;
  if (pgCode && POSTGRES_INPUT_ERRORS[pgCode]) {
    // A value the schema let through but Postgres cannot store (a NUL byte, a number or date
    // out of its range): the client's input, so a 422, never a 500.
    const message = `${POSTGRES_INPUT_ERRORS[pgCode]}: ${err.message}`;
    void reply.code(422).send(errorBody(422, 'validation_error', message));
    return;
  }
  if (isTransientDbError(err)) {
    // The SDK retries a 503 and honours Retry-After.
    request.log.warn({ err: { message: err.message, code: err.code } }, 'metadata database unavailable');
    void reply.code(503).header('retry-after', '2').send(errorBody(503, 'unavailable', 'the metadata database is not answering; try again shortly'));
    return;
  }
  const status = err.statusCode ?? 500;
  if (status < 500 && !isResponseSerializationError(err)) {
    // Fastify's own 4xx: malformed JSON, body too large, wrong content type, ...
    const kind = err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'payload_too_large'
      : err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || err instanceof SyntaxError ? 'malformed_json'
      : err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'unsupported_media_type'
      : 'bad_request';
    const message = kind === 'malformed_json' ? `body: not valid JSON (${err.message})` : `${kind === 'payload_too_large' ? 'body' : 'request'}: ${err.message}`;
    void reply.code(status).send(errorBody(status, kind, message));
    return;
  }
  request.log.error({ err }, 'request failed');
  void reply.code(500).send(errorBody(500, 'internal_error', 'internal error; see the server log'));
}
