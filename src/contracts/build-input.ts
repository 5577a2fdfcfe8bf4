// The `dbtBuild` input: validated once, at the edge (CLI, TS client, and the workflow itself
// for builds started from the Temporal CLI). A bad input names the field.
import { z } from 'zod';
import { BUILD_ID_PATTERN } from './names.js';
import { CONTROL_CHARS, lazySchema, normalizePosixPath, parseInput } from './validation.js';

const MAX_PATH = 4096;

/** What a build does with dbt source freshness (`off` when absent). */
export const SOURCE_FRESHNESS_MODES = ['off', 'warn', 'skip-stale'] as const;
export type SourceFreshnessMode = (typeof SOURCE_FRESHNESS_MODES)[number];

/**
 * dbt selection syntax (methods, graph operators, globs, unions and intersections).
 * Arguments never pass through a shell, but quotes, `;`, `$`, backticks and the like are never
 * part of a dbt selector, so they are refused with a clear message instead of reaching dbt.
 */
const SELECTOR_CHARS = /^[A-Za-z0-9_.:+@*,/=\- ]+$/;

/**
 * Whether dbt could read any word of `value` as an option. A selector is placed after
 * Watcher's own flags, so `--target-path=/any/dir` there would override them; no dbt
 * selector starts with '-'. The schema refuses such input and src/dbt/command.ts checks again
 * every value it puts in argv (the one rule, owned here).
 */
export function looksLikeDbtOption(value: string): boolean {
  return value.split(/\s+/).some((word) => word.startsWith('-'));
}
export const DBT_OPTION_MESSAGE = "must not start a word with '-' (dbt would read it as an option)";

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$/;
const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** The schemas of the build input's fields, built on first use (see lazySchema). */
const fieldSchemas = lazySchema(() => {
  const absolutePath = z
    .string()
    .min(1, 'must not be empty')
    .max(MAX_PATH, `must be at most ${MAX_PATH} characters`)
    .refine((p) => !CONTROL_CHARS.test(p), 'must not contain control characters')
    .refine((p) => p.startsWith('/'), 'must be an absolute path (the worker resolves no relative paths)')
    .refine((p) => normalizePosixPath(p) !== null, 'must not climb above the filesystem root');

  /** Relative paths resolve against projectDir and must stay inside it; absolute paths are taken as they are. */
  const projectPath = z
    .string()
    .min(1, 'must not be empty')
    .max(MAX_PATH, `must be at most ${MAX_PATH} characters`)
    .refine((p) => !CONTROL_CHARS.test(p), 'must not contain control characters')
    .refine((p) => normalizePosixPath(p) !== null, 'a relative path must stay inside projectDir');

  const selectorString = z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(1000, 'must be at most 1000 characters')
    .refine((s) => SELECTOR_CHARS.test(s), 'may only contain letters, digits, spaces and _ . : + @ * , / = -')
    .refine((s) => !looksLikeDbtOption(s), DBT_OPTION_MESSAGE);
  // A single selector or a list of them, always a list after parsing.
  const selection = z
    .union([selectorString, z.array(selectorString).min(1, 'must not be an empty list').max(500, 'must list at most 500 selectors')])
    .transform((v) => (Array.isArray(v) ? v : [v]));

  const name = (what: string) =>
    z.string().regex(NAME, `must be a ${what} name: letters, digits, _ and -, at most 64 characters`);

  const jsonValue: z.ZodType<unknown> = z.lazy(() =>
    z.union([z.string().max(10_000), z.number(), z.boolean(), z.null(), z.array(jsonValue), z.record(z.string(), jsonValue)]),
  );
  const vars = z
    .record(z.string().regex(VAR_NAME, 'var names must be identifiers'), jsonValue)
    .refine((v) => JSON.stringify(v).length <= 65_536, 'must serialise to at most 64 KiB of JSON');
  return {
    absolutePath,
    projectPath,
    selection,
    name,
    vars,
    fullRefresh: z.boolean().default(false),
    threads: z.number().int('must be an integer').min(1, 'must be at least 1').max(64, 'must be at most 64').optional(),
  };
});

export const buildInputSchema = lazySchema(() => {
  const { absolutePath, projectPath, selection, name, vars, fullRefresh, threads } = fieldSchemas();
  return z
    .object({
      projectDir: absolutePath,
      profilesDir: projectPath.optional(),
      target: name('dbt target').optional(),
      select: selection.optional(),
      exclude: selection.optional(),
      selector: name('selector').optional(),
      vars: vars.optional(),
      fullRefresh,
      threads,
      failFast: z.boolean().default(false),
      nodeRetries: z.number().int('must be an integer').min(0, 'must be at least 0').max(10, 'must be at most 10').default(1),
      nodeRetryDelaySeconds: z.number().min(0.1, 'must be at least 0.1').max(3600, 'must be at most 3600').default(5),
      /**
       * Consumers per node group: a build's workflows stay far from Temporal's per-workflow limits.
       * Unset, the build picks it (100; see startGroups): its default is part of its recorded history.
       */
      groupSize: z.number().int('must be an integer').min(1, 'must be at least 1').max(1000, 'must be at most 1000').optional(),
      /**
       * Another build of the same project and target is running: wait for it (`queue`), fail
       * at once (`reject`), or run anyway (`allow`: only when their relations cannot collide).
       */
      overlap: z.enum(['queue', 'reject', 'allow']).default('queue'),
      pipeline: z
        .string()
        .min(1, 'must not be empty')
        .max(256, 'must be at most 256 characters')
        .refine((p) => !CONTROL_CHARS.test(p), 'must not contain control characters')
        .optional(),
      nextWatermark: z
        .string()
        .min(1, 'must not be empty')
        .max(50, 'must be at most 50 characters')
        .refine((p) => !CONTROL_CHARS.test(p), 'must not contain control characters')
        .optional(),
      buildId: z
        .string()
        .regex(BUILD_ID_PATTERN, "must be 1-100 letters, digits, and . _ - (starting with a letter or digit; a schedule's -<RFC 3339 time> suffix may follow)")
        .optional(),
      /**
       * The Watcher schedule that started this build (`watcher schedule`): recorded in the root
       * execution's metadata and as the `WatcherSchedule` search attribute.
       */
      schedule: name('schedule').optional(),
      /**
       * `dbt source freshness` before the build (README "Source freshness"): `warn` records and
       * alerts stale sources, `skip-stale` also leaves out the models whose sources are all stale.
       * Absent means `off` (no default written, so inputs and schedule hashes stay as they were).
       */
      sourceFreshness: z.enum(SOURCE_FRESHNESS_MODES, { error: () => `must be one of ${SOURCE_FRESHNESS_MODES.join(', ')}` }).optional(),
    })
    .strict();
});

/** The build's dbt flags a consumer's single-node rerun carries (only these fields are built). */
export const rerunFlagsSchema = lazySchema(() => {
  const { absolutePath, projectPath, name, vars, fullRefresh, threads } = fieldSchemas();
  return z.object({ projectDir: absolutePath, profilesDir: projectPath.optional(), target: name('dbt target').optional(), vars: vars.optional(), fullRefresh, threads }).strict();
});

/** What users send (optional fields may be left out). */
export type BuildInputRaw = z.input<ReturnType<typeof buildInputSchema>>;
/** After validation: defaults filled in, selections normalised to lists. */
export type BuildInput = z.output<ReturnType<typeof buildInputSchema>>;

export function parseBuildInput(raw: unknown): BuildInput {
  return parseInput(buildInputSchema(), raw, 'dbtBuild');
}

export function sourceFreshnessMode(input: Pick<BuildInput, 'sourceFreshness'>): SourceFreshnessMode {
  return input.sourceFreshness ?? 'off';
}

/** The dbt flags a single-node rerun carries over from its build. */
export type RerunFlags = Pick<BuildInput, 'projectDir' | 'profilesDir' | 'target' | 'vars' | 'fullRefresh' | 'threads'>;

export function rerunFlagsOf(input: BuildInput): RerunFlags {
  return {
    projectDir: input.projectDir,
    profilesDir: input.profilesDir,
    target: input.target,
    vars: input.vars,
    fullRefresh: input.fullRefresh,
    threads: input.threads,
  };
}
