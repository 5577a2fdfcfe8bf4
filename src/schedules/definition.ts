// A Watcher schedule as declared (by `watcher schedule create` flags or an entry of
// watcher.yml): when it fires (cron or interval), its Temporal policies, and the dbtBuild input
// its builds get. Pure: parsing, validation and the change-detection hash, no Temporal calls.
// Everything is checked here, before anything is created, so a bad field fails at once by name.
import { z } from 'zod';
import { buildInputSchema, parseBuildInput, type BuildInput, type BuildInputRaw } from '../contracts/build-input.js';
import { CONTROL_CHARS, describeZodError, InvalidInputError } from '../contracts/validation.js';
import { canonicalHash } from '../store/canonical-json.js';

/** Also the build ID's first part, so it follows the build ID rules (no `/`, no spaces). */
export const SCHEDULE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

// --- durations ------------------------------------------------------------------------------

const DURATION = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;
const UNIT_MS = [86_400_000, 3_600_000, 60_000, 1_000] as const;

/** `90s`, `15m`, `1h`, `1h30m`, `2d`: milliseconds, or an error message. */
export function parseDuration(text: string): number | string {
  const m = DURATION.exec(text.trim());
  if (!m || text.trim() === '') return `must be a duration such as 30s, 15m, 1h, 1h30m or 1d (got ${JSON.stringify(text)})`;
  return UNIT_MS.reduce((sum, unit, i) => sum + Number(m[i + 1] ?? 0) * unit, 0);
}

/** The shortest way to write `ms` with the units parseDuration reads. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const units = ['d', 'h', 'm', 's'] as const;
  let rest = ms;
  let out = '';
  UNIT_MS.forEach((unit, i) => {
    const n = Math.floor(rest / unit);
    rest -= n * unit;
    if (n > 0) out += `${n}${units[i]}`;
  });
  return rest > 0 ? `${out}${rest}ms` : out;
}

const duration = (min: { ms: number; text: string }) =>
  z.string().transform((text, ctx) => {
    const ms = parseDuration(text);
    if (typeof ms === 'string') {
      ctx.addIssue({ code: 'custom', message: ms });
      return z.NEVER;
    }
    if (ms < min.ms) {
      ctx.addIssue({ code: 'custom', message: `must be at least ${min.text}` });
      return z.NEVER;
    }
    return ms;
  });

// --- cron -----------------------------------------------------------------------------------

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const CRON_FIELDS: ReadonlyArray<{ name: string; min: number; max: number; names?: string[] }> = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTH_NAMES },
  { name: 'day of week', min: 0, max: 6, names: DAY_NAMES },
];
const CRON_MACROS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);

/**
 * Checks a five-field cron string (minute hour day-of-month month day-of-week, with `*`, lists,
 * ranges, steps and JAN-DEC / SUN-SAT) or a macro such as `@daily`; returns an error message or
 * undefined. The Temporal server parses it again, but its error would name no field and would
 * come after other checks passed; this one comes first and says what is wrong.
 */
export function cronProblem(expression: string): string | undefined {
  const text = expression.trim();
  if (text === '') return 'must not be empty';
  if (CONTROL_CHARS.test(text)) return 'must not contain control characters';
  if (text.startsWith('@')) {
    return CRON_MACROS.has(text.toLowerCase()) ? undefined : `unknown macro ${text} (use ${[...CRON_MACROS].join(', ')}; for intervals use every)`;
  }
  const fields = text.split(/\s+/);
  if (fields.length !== 5) {
    return `must have 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}: ${JSON.stringify(text)}`;
  }
  for (let i = 0; i < 5; i++) {
    const problem = cronFieldProblem(fields[i]!, CRON_FIELDS[i]!);
    if (problem) return `${CRON_FIELDS[i]!.name} ${JSON.stringify(fields[i])}: ${problem}`;
  }
  return undefined;
}

function cronFieldProblem(field: string, spec: (typeof CRON_FIELDS)[number]): string | undefined {
  const value = (token: string): number | undefined => {
    if (/^\d+$/.test(token)) return Number(token);
    const named = spec.names?.indexOf(token.toUpperCase()) ?? -1;
    return named >= 0 ? named + (spec.name === 'month' ? 1 : 0) : undefined;
  };
  for (const part of field.split(',')) {
    const m = /^([^/]+)(?:\/(\d+))?$/.exec(part);
    if (!m) return `cannot read ${JSON.stringify(part)}`;
    const [, range, step] = m;
    if (step !== undefined && Number(step) < 1) return 'a step must be at least 1';
    if (range === '*') continue;
    const bounds = range!.split('-');
    if (bounds.length > 2) return `cannot read ${JSON.stringify(range)}`;
    const numbers = bounds.map(value);
    for (let j = 0; j < bounds.length; j++) {
      const n = numbers[j];
      if (n === undefined) return `${JSON.stringify(bounds[j])} is not a number${spec.names ? ' or name' : ''}`;
      if (n < spec.min || n > spec.max) return `${n} is out of range ${spec.min}-${spec.max}`;
    }
    if (numbers.length === 2 && numbers[0]! > numbers[1]!) return `range ${range} runs backwards`;
  }
  return undefined;
}

/** Whether the runtime knows the IANA zone (Node's ICU and Temporal's tz database agree on real zones). */
export function isKnownTimezone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

// --- overlap --------------------------------------------------------------------------------

/** Temporal's overlap policies under the names the CLI and watcher.yml use. */
export const OVERLAP_POLICIES = {
  skip: 'SKIP',
  'buffer-one': 'BUFFER_ONE',
  'buffer-all': 'BUFFER_ALL',
  'cancel-other': 'CANCEL_OTHER',
  'terminate-other': 'TERMINATE_OTHER',
  'allow-all': 'ALLOW_ALL',
} as const;
export type OverlapName = keyof typeof OVERLAP_POLICIES;
export type TemporalOverlapPolicy = (typeof OVERLAP_POLICIES)[OverlapName];
export const OVERLAP_NAMES = Object.keys(OVERLAP_POLICIES) as [OverlapName, ...OverlapName[]];

export function overlapName(policy: string | undefined): OverlapName | undefined {
  return (Object.entries(OVERLAP_POLICIES) as Array<[OverlapName, string]>).find(([, p]) => p === policy)?.[0];
}

/**
 * How late a missed action (the server was down) may still start: an hour is long enough to ride
 * out a restart or an upgrade, short enough that a nightly build does not start at noon.
 */
export const DEFAULT_CATCHUP_WINDOW_MS = 3_600_000;

const overlap = z.enum(OVERLAP_NAMES, { error: () => `must be one of ${OVERLAP_NAMES.join(', ')}` });

// --- the declaration ------------------------------------------------------------------------

/**
 * One schedule as written: its own fields and the dbtBuild input's (same names and rules as the
 * build input, without projectDir, which is the project being scheduled, buildId, which each
 * build derives from its workflow ID, and nextWatermark, which would be the same fixed value
 * for every run). `overlap` is the schedule's policy; its builds keep the build input's default
 * (`queue` on the target lock), so two of them never write one target at once.
 */
export const ScheduleDeclarationSchema = buildInputSchema().omit({ projectDir: true, buildId: true, schedule: true, nextWatermark: true })
  .extend({
    name: z.string().regex(SCHEDULE_NAME, 'must be a schedule name: letters, digits, _ and -, at most 64 characters, starting with a letter or digit'),
    cron: z
      .string()
      .optional()
      .superRefine((value, ctx) => {
        const problem = value === undefined ? undefined : cronProblem(value);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
    every: duration({ ms: 1000, text: '1s' }).optional(),
    timezone: z
      .string()
      .optional()
      .refine((zone) => zone === undefined || isKnownTimezone(zone), 'must be an IANA time zone such as UTC or Europe/Berlin'),
    overlap: overlap.default('skip'),
    // Temporal refuses catch-up windows under 10 s.
    catchupWindow: duration({ ms: 10_000, text: '10s' }).default(DEFAULT_CATCHUP_WINDOW_MS),
    paused: z.boolean().default(false),
    note: z
      .string()
      .max(1000, 'must be at most 1000 characters')
      .refine((n) => !CONTROL_CHARS.test(n), 'must not contain control characters')
      .optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.cron === undefined && s.every === undefined) ctx.addIssue({ code: 'custom', path: ['cron'], message: 'give either cron or every' });
    if (s.cron !== undefined && s.every !== undefined) ctx.addIssue({ code: 'custom', path: ['every'], message: 'give either cron or every, not both' });
    if (s.every !== undefined && s.timezone !== undefined) ctx.addIssue({ code: 'custom', path: ['timezone'], message: 'applies to cron only (an interval counts from the Unix epoch)' });
  });

export type ScheduleDeclarationRaw = z.input<typeof ScheduleDeclarationSchema>;

/** A validated schedule, ready to become a Temporal Schedule. */
export interface ScheduleDefinition {
  name: string;
  /** When it fires: a cron string or an interval in ms. */
  when: { cron: string; timezone?: string } | { everyMs: number };
  overlap: OverlapName;
  catchupWindowMs: number;
  paused: boolean;
  note?: string;
  /** The dbtBuild input every build of the schedule gets, as given (defaults are the worker's). */
  build: BuildInputRaw;
  /** Stable SHA-256 of everything above: equal hashes, nothing to update. */
  hash: string;
}

const SCHEDULE_KEYS = new Set(['name', 'cron', 'every', 'timezone', 'overlap', 'catchupWindow', 'paused', 'note']);

/**
 * Validate one declaration for the project at `projectDir`. The build part goes through
 * parseBuildInput, the same check a build's input gets, so a schedule never stores an input
 * its builds would refuse. `where` prefixes field names in errors (e.g. `schedules[1]`).
 */
export function parseScheduleDeclaration(raw: unknown, projectDir: string, where = ''): ScheduleDefinition {
  const parsed = ScheduleDeclarationSchema.safeParse(raw);
  if (!parsed.success) throw new InvalidInputError('schedule', prefixed(describeZodError(parsed.error), where));
  const s = parsed.data;
  // The build input as the user wrote it (the raw fields), plus the project and the schedule's name.
  const given = Object.fromEntries(Object.entries(raw as Record<string, unknown>).filter(([k, v]) => !SCHEDULE_KEYS.has(k) && v !== undefined));
  const build: BuildInputRaw = { ...given, projectDir, schedule: s.name };
  let normalized: BuildInput;
  try {
    normalized = parseBuildInput(build);
  } catch (err) {
    if (err instanceof InvalidInputError) throw new InvalidInputError('schedule', prefixed(err.problems, where));
    throw err;
  }
  const when = s.cron !== undefined ? { cron: s.cron.trim(), ...(s.timezone ? { timezone: s.timezone } : {}) } : { everyMs: s.every! };
  const definition = { name: s.name, when, overlap: s.overlap, catchupWindowMs: s.catchupWindow, paused: s.paused, note: s.note, build };
  // The hash covers the normalised build input (`select: a` and `select: [a]` are one schedule).
  return { ...definition, hash: scheduleHash({ ...definition, build: normalized }) };
}

/** Version 1 of what a schedule's hash covers; bump `v` to make every schedule update once. */
export function scheduleHash(definition: Omit<ScheduleDefinition, 'hash' | 'build'> & { build: BuildInput }): string {
  return canonicalHash({ v: 1, ...definition });
}

function prefixed(problems: string, where: string): string {
  if (!where) return problems;
  return problems
    .split('; ')
    .map((p) => (p.startsWith('(input)') ? `${where}${p.slice('(input)'.length)}` : `${where}.${p}`))
    .join('; ');
}

/** `cron "0 2 * * *" (Europe/Berlin)` or `every 1h`. */
export function describeWhen(when: ScheduleDefinition['when']): string {
  return 'cron' in when ? `cron ${JSON.stringify(when.cron)}${when.timezone ? ` (${when.timezone})` : ''}` : `every ${formatDuration(when.everyMs)}`;
}

const INSTANT = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))?$/;

/**
 * An ISO 8601 date (UTC midnight) or time with a zone (`Z` or `+02:00`): a time without a zone
 * would mean the local time of whoever runs the command, so it is refused.
 */
export function parseInstant(text: string, field: string): Date {
  const date = new Date(text);
  if (!INSTANT.test(text) || Number.isNaN(date.getTime())) {
    throw new InvalidInputError('schedule', `${field}: must be an ISO 8601 date or a time with a zone, e.g. 2026-12-01 or 2026-12-01T02:00:00Z (got ${JSON.stringify(text)})`);
  }
  return date;
}
