// One dbt invocation with a streamed event log: private artifact paths, a parsed event per
// stdout line handed to the caller as it arrives, and what dbt said when it failed. DbtRun
// (dbt-run.ts) builds on it and owns an invocation's whole life.
import { copyFile, mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { integerFromEnv } from '../config.js';
import type { InvocationPaths } from './command.js';
import { DbtEventNames, errorTextOf, isRelevantLogLine, parseDbtLogLine, type DbtEvent } from './events.js';
import { spawnDbt, type DbtExit, type DbtProcess } from './process.js';

/** Per-build working directory, inside the dbt project's target dir. */
export function buildWorkDir(projectDir: string, buildId: string): string {
  return path.join(projectDir, 'target', 'watcher', buildId);
}

/** Build work dirs kept per project when WATCHER_KEEP_BUILD_DIRS is not set. */
export const DEFAULT_KEEP_BUILD_DIRS = 20;

/** WATCHER_KEEP_BUILD_DIRS: how many build work dirs a project keeps (at least 1: the running build's). */
export function keepBuildDirsFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  return integerFromEnv('WATCHER_KEEP_BUILD_DIRS', DEFAULT_KEEP_BUILD_DIRS, 1, env);
}

/**
 * Remove a project's build work dirs (`<projectDir>/target/watcher/<buildId>/`, artifacts, logs
 * and dbt.pid records of every invocation) but the `keep` most recently changed ones. A dir
 * whose build may still be open stays whatever its age: a retried attempt reads its earlier
 * attempts' logs and pid records there, and the next build of the target finds a dbt that
 * outlived its build by them. `isOpen` answers for a buildId; when it cannot tell, it must
 * say open. Returns the buildIds whose dirs were removed.
 */
export async function pruneBuildWorkDirs(projectDir: string, keep: number, isOpen: (buildId: string) => Promise<boolean>): Promise<string[]> {
  const buildsDir = path.dirname(buildWorkDir(projectDir, 'x'));
  let entries;
  try {
    entries = await readdir(buildsDir, { withFileTypes: true });
  } catch {
    return []; // no build has run here yet
  }
  const dirs: Array<{ buildId: string; mtimeMs: number }> = [];
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    try {
      dirs.push({ buildId: entry.name, mtimeMs: (await stat(path.join(buildsDir, entry.name))).mtimeMs });
    } catch {
      // removed meanwhile (by another build's pruning)
    }
  }
  dirs.sort((a, b) => b.mtimeMs - a.mtimeMs || a.buildId.localeCompare(b.buildId));
  const removed: string[] = [];
  for (const { buildId } of dirs.slice(keep)) {
    if (await isOpen(buildId)) continue;
    await rm(path.join(buildsDir, buildId), { recursive: true, force: true });
    removed.push(buildId);
  }
  return removed;
}

/** The build's graph resolution (`dbt ls`): its partial-parse file is the freshest of the build's. */
export const RESOLVE_INVOCATION = 'resolve';

/** Where one invocation of a build writes (nothing is created: see prepareInvocationPaths). */
export function invocationPaths(projectDir: string, buildId: string, name: string): InvocationPaths {
  const dir = path.join(buildWorkDir(projectDir, buildId), name);
  return { targetPath: path.join(dir, 'target'), logPath: path.join(dir, 'logs') };
}

/**
 * Paths for a later invocation of a build (its `dbt build`, a node's rerun): it starts from the
 * partial-parse file of the build's `dbt ls`, made with the same project, vars and profile, so
 * it does not parse the project again. The resolve dir is only read: preparing it again would
 * copy the project's own (possibly stale) file over the fresh one.
 */
export function prepareLaterInvocationPaths(projectDir: string, buildId: string, name: string): Promise<InvocationPaths> {
  return prepareInvocationPaths(projectDir, buildId, name, invocationPaths(projectDir, buildId, RESOLVE_INVOCATION));
}

/** Artifact and log paths of one invocation of a build (`resolve`, `build-1`, `rerun-<node>-2`). */
export async function prepareInvocationPaths(
  projectDir: string,
  buildId: string,
  name: string,
  reuseParseFrom?: InvocationPaths,
): Promise<InvocationPaths> {
  const paths = invocationPaths(projectDir, buildId, name);
  await mkdir(paths.targetPath, { recursive: true });
  await mkdir(paths.logPath, { recursive: true });
  // dbt re-parses from scratch in a fresh target dir; its partial-parse file skips that work
  // (dbt itself checks that the file still matches the project, vars and profile).
  const sources = [reuseParseFrom?.targetPath, path.join(projectDir, 'target')].filter((p): p is string => !!p);
  for (const source of sources) {
    try {
      await copyFile(path.join(source, 'partial_parse.msgpack'), path.join(paths.targetPath, 'partial_parse.msgpack'));
      break;
    } catch {
      // not there: try the next, or let dbt parse
    }
  }
  return paths;
}

export interface InvocationOutcome {
  exit: DbtExit;
  invocationId?: string;
  dbtVersion?: string;
  /** Fatal errors dbt logged (MainEncounteredError), in dbt's words. */
  fatalErrors: string[];
  /** Error-level log messages, for a failure report when dbt exits 2. */
  errorMessages: string[];
  /** The last stdout lines that were not JSON events (dbt's plain output), for error reports. */
  plainLines: string[];
}

export interface RunningInvocation {
  process: DbtProcess;
  outcome: Promise<InvocationOutcome>;
  /** The invocation id from dbt's first log line (undefined until it arrives). */
  invocationId(): string | undefined;
}

/** Plain lines kept for an error report: the last ones. Callers that need every line use `onPlainLine`. */
const MAX_KEPT_LINES = 200;

export interface InvocationHandlers {
  onEvent?: (event: DbtEvent) => void;
  /** Every stdout line that is not a JSON event (e.g. `dbt ls` results), none dropped. */
  onPlainLine?: (line: string) => void;
}

/**
 * What one invocation said on stdout, line by line: its events go to the caller as they come,
 * and what an outcome needs (its id, dbt's version, its errors) is kept.
 */
export class InvocationLog {
  private id: string | undefined;
  private dbtVersion: string | undefined;
  private readonly fatalErrors: string[] = [];
  private readonly errorMessages: string[] = [];
  private readonly plainLines: string[] = [];

  constructor(private readonly handlers: InvocationHandlers) {}

  /** The invocation id from dbt's first log line (undefined until it arrives). */
  invocationId(): string | undefined {
    return this.id;
  }

  line(line: string): void {
    if (!isRelevantLogLine(line)) return;
    const event = parseDbtLogLine(line);
    if (!event) {
      if (!line.trim()) return;
      this.handlers.onPlainLine?.(line);
      this.plainLines.push(line);
      if (this.plainLines.length > MAX_KEPT_LINES) this.plainLines.shift();
      return;
    }
    if (!this.id && event.invocationId) this.id = event.invocationId;
    if (event.name === DbtEventNames.version) this.dbtVersion = String(event.data.version ?? '').replace(/^=/, '');
    if (event.name === DbtEventNames.fatal) this.fatalErrors.push(errorTextOf(event));
    else if (event.level === 'error' && this.errorMessages.length < 50) this.errorMessages.push(event.msg);
    this.handlers.onEvent?.(event);
  }

  outcome(exit: DbtExit): InvocationOutcome {
    const { id: invocationId, dbtVersion, fatalErrors, errorMessages, plainLines } = this;
    return { exit, invocationId, dbtVersion, fatalErrors, errorMessages, plainLines };
  }
}

export function startInvocation(options: { dbtBin: string; args: readonly string[]; cwd: string; env: NodeJS.ProcessEnv } & InvocationHandlers): RunningInvocation {
  const log = new InvocationLog(options);
  const child = spawnDbt(options.dbtBin, options.args, { cwd: options.cwd, env: options.env, onStdoutLine: (line) => log.line(line) });
  const outcome = child.exited.then((exit) => log.outcome(exit));
  return { process: child, outcome, invocationId: () => log.invocationId() };
}

/** dbt's own explanation of a failed invocation, for an error message. */
export function describeDbtFailure(outcome: InvocationOutcome): string {
  const said = outcome.fatalErrors.length
    ? outcome.fatalErrors
    : outcome.errorMessages.length
      ? outcome.errorMessages
      : outcome.plainLines.length
        ? outcome.plainLines.slice(-20)
        : outcome.exit.stderrTail.slice(-20);
  const how = outcome.exit.code !== null ? `exit code ${outcome.exit.code}` : `signal ${outcome.exit.signal}`;
  return `dbt failed (${how}): ${said.join('\n').trim() || 'no output'}`;
}
