// dbt command lines, as argument arrays (never a shell string).
import path from 'node:path';
import { DBT_OPTION_MESSAGE, looksLikeDbtOption, type BuildInput, type RerunFlags } from '../contracts/build-input.js';
import { FailureTypes } from '../contracts/status.js';

/**
 * A value about to reach dbt's argv that dbt could read as an option. The schema refuses such
 * input already; this is the second check, for callers that bypass it (a resumed build's
 * selectors, a hand-made RerunFlags). Named InvalidInput so activities never retry it.
 */
export class DbtArgumentError extends Error {
  constructor(field: string, value: string) {
    super(`${field}: ${DBT_OPTION_MESSAGE}: ${JSON.stringify(value)}`);
    this.name = FailureTypes.invalidInput;
  }
}

/** `value` as one argv element, or a DbtArgumentError naming `field`. */
function optionValue(field: string, value: string): string {
  if (looksLikeDbtOption(value)) throw new DbtArgumentError(field, value);
  return value;
}

/** Every entry of a list of option values, checked like optionValue. */
function optionValues(field: string, values: readonly string[]): string[] {
  return values.map((v, i) => optionValue(`${field}[${i}]`, v));
}

/** Where one dbt invocation writes its artifacts and logs (never shared between invocations). */
export interface InvocationPaths {
  targetPath: string;
  logPath: string;
}

/** Resolve profilesDir against projectDir (the schema has already refused paths that escape it). */
export function resolveProfilesDir(flags: Pick<RerunFlags, 'projectDir' | 'profilesDir'>): string | undefined {
  if (!flags.profilesDir) return undefined;
  return path.resolve(flags.projectDir, flags.profilesDir);
}

/** Flags shared by every command: project, profile, target, vars and private paths. */
function commonFlags(flags: RerunFlags, paths: InvocationPaths, profilesBase = flags): string[] {
  const args = ['--project-dir', optionValue('projectDir', flags.projectDir)];
  const profilesDir = resolveProfilesDir(profilesBase);
  if (profilesDir) args.push('--profiles-dir', optionValue('profilesDir', profilesDir));
  if (flags.target) args.push('--target', optionValue('target', flags.target));
  // JSON of an object always starts with '{': never an option.
  if (flags.vars && Object.keys(flags.vars).length > 0) args.push('--vars', JSON.stringify(flags.vars));
  args.push('--target-path', optionValue('targetPath', paths.targetPath), '--log-path', optionValue('logPath', paths.logPath));
  return args;
}

/**
 * JSON logs at debug level: NodeStart and NodeFinished are DEBUG events in every dbt version.
 * No colours (ANSI codes would end up in messages), and never --quiet (it hides them).
 */
const STREAMING_LOG_FLAGS = ['--log-format', 'json', '--log-level', 'debug', '--no-use-colors'];

/** Whether a command streams its events on stdout (build, rerun, source freshness; not parse or ls). */
export function streamsEvents(args: readonly string[]): boolean {
  const at = args.indexOf(STREAMING_LOG_FLAGS[0]!);
  return at >= 0 && STREAMING_LOG_FLAGS.every((flag, i) => args[at + i] === flag);
}

/**
 * How the dbt runner runs a streaming command: dbt's own stdout log off, its file log (JSON, the
 * record an earlier attempt is read back from) still at debug. The runner prints on stdout only
 * the events the worker reads (dbt_runner.py): every debug event formatted twice as JSON cost a
 * 185-model build 15% (bench/dbt-logging.ts).
 */
export const RUNNER_STDOUT_FLAGS = ['--log-level', 'none', '--log-level-file', 'debug'];

function selectionFlags(sel: Pick<BuildInput, 'select' | 'exclude' | 'selector'>): string[] {
  const args: string[] = [];
  if (sel.select?.length) args.push('--select', ...optionValues('select', sel.select));
  if (sel.exclude?.length) args.push('--exclude', ...optionValues('exclude', sel.exclude));
  if (sel.selector) args.push('--selector', optionValue('selector', sel.selector));
  return args;
}

/** `dbt parse`: the manifest only (a resumed build needs the graph before it starts dbt). */
export function parseArgs(flags: RerunFlags, paths: InvocationPaths): string[] {
  return ['parse', '--quiet', '--no-use-colors', ...commonFlags(flags, paths)];
}

/** `dbt ls`: dbt's own selection, resolved once. One JSON object per selected node on stdout. */
export function listArgs(input: BuildInput, paths: InvocationPaths): string[] {
  return [
    'ls',
    '--quiet',
    '--no-use-colors',
    '--output',
    'json',
    '--output-keys',
    'unique_id',
    '--resource-type',
    'model',
    'seed',
    'snapshot',
    'test',
    'unit_test',
    ...commonFlags(input, paths),
    ...selectionFlags(input),
  ];
}

/** How a resumed build runs exactly the nodes it has left. */
export type SelectionOverride =
  /** As --select flags. */
  | { kind: 'flags'; select: string[] }
  /** As a YAML selector in a shadow project (for selections past the OS argument limit). */
  | { kind: 'selector'; projectDir: string; selector: string };

/**
 * `dbt source freshness` of the given sources (exact `source:` selectors; none: every source
 * with a freshness config). It writes sources.json into the invocation's target path.
 */
export function sourceFreshnessArgs(input: BuildInput, paths: InvocationPaths, sources: readonly string[]): string[] {
  const args = ['source', 'freshness', ...STREAMING_LOG_FLAGS, ...commonFlags(input, paths)];
  if (sources.length) args.push('--select', ...optionValues('sources', sources));
  if (input.threads) args.push('--threads', String(input.threads));
  return args;
}

/**
 * The one `dbt build` of a build (or of its resumed attempt). `leaveOut`: exact selectors of
 * nodes the build's own selection must not run (source freshness's stale skips).
 */
export function buildArgs(input: BuildInput, paths: InvocationPaths, override?: SelectionOverride, leaveOut: readonly string[] = []): string[] {
  let args: string[];
  if (!override) {
    const exclude = [...(input.exclude ?? []), ...leaveOut];
    args = ['build', ...STREAMING_LOG_FLAGS, ...commonFlags(input, paths), ...selectionFlags({ ...input, exclude })];
  } else {
    // A resumed build lists every node itself (tests included): no indirect selection. The
    // profilesDir stays relative to the real project, not the shadow one.
    const flags: RerunFlags = override.kind === 'selector' ? { ...input, projectDir: override.projectDir } : input;
    const selection =
      override.kind === 'selector' ? ['--selector', optionValue('selector', override.selector)] : ['--select', ...optionValues('select', override.select)];
    args = ['build', ...STREAMING_LOG_FLAGS, ...commonFlags(flags, paths, input), ...selection, '--indirect-selection', 'empty'];
  }
  if (input.threads) args.push('--threads', String(input.threads));
  if (input.failFast) args.push('--fail-fast');
  if (input.fullRefresh) args.push('--full-refresh');
  return args;
}

/**
 * A single node's rerun: `dbt build --select <exact selector>` with the build's flags.
 * `buildable` indirect selection: the node's own tests, and tests shared with its ancestors,
 * but not a test shared with a sibling that may not exist (that one reruns with the sibling).
 */
export function rerunArgs(flags: RerunFlags, selector: string, paths: InvocationPaths): string[] {
  const args = ['build', ...STREAMING_LOG_FLAGS, ...commonFlags(flags, paths), '--select', optionValue('node.selector', selector), '--indirect-selection', 'buildable'];
  if (flags.threads) args.push('--threads', String(flags.threads));
  if (flags.fullRefresh) args.push('--full-refresh');
  return args;
}
