// Zod pieces shared by the routes. etl-watcher's conventions: top-level strings are trimmed
// and lower-cased (names included), except watermarks, which are opaque strings kept as sent.
import { z } from 'zod';
import { DATEPARTS } from '../contracts/node-config.js';

// Postgres cannot store NUL in text: refuse it here, naming the field, rather than fail later.
const noNul = { message: 'must not contain a NUL character' };
const hasNoNul = (s: string) => !s.includes('\u0000');

/** A name or other top-level string: trimmed and lower-cased, as etl-watcher does. */
export const lowerName = (max = 150) => z.string().trim().toLowerCase().min(1).max(max).refine(hasNoNul, noNul);

/** A watermark: any opaque string of at most 50 characters, kept exactly as sent. */
export const watermark = z.string().max(50).refine(hasNoNul, noNul);

/** A datepart in any case, trimmed (etl-watcher lower-cases every string); stored lower-case. */
export const datepart = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(DATEPARTS))
  .describe('minute, hour, day, week, month or year (any case)');

export const positiveInt = z.number().int().positive().max(2_147_483_647);
export const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
export const id = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);
/** Ids of pipelines, types and addresses: Postgres integer columns. */
export const int4Id = z.coerce.number().int().positive().max(2_147_483_647);
export const jsonObject = z.record(z.string(), z.unknown());
/** An ISO 8601 timestamp with a zone; parsed to a Date. */
export const timestamp = z.iso
  .datetime({ offset: true })
  .refine((s) => !s.startsWith('0000'), 'year 0000 does not exist (Postgres counts 1 BC, 1 AD)')
  .transform((s) => new Date(s));

export const ErrorResponse = z.object({
  message: z.string(),
  error: z.string(),
  code: z.number().int(),
  details: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  detail: z.string(),
});

/** The error responses every route can give, for the OpenAPI document. */
export const errorResponses = {
  400: ErrorResponse,
  401: ErrorResponse,
  403: ErrorResponse,
  404: ErrorResponse,
  409: ErrorResponse,
  413: ErrorResponse,
  422: ErrorResponse,
  429: ErrorResponse,
  503: ErrorResponse,
} as const;
