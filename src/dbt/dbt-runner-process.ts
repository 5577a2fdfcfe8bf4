// One dbt process for a build's invocations (dbt_runner.py beside this file): it parses the
// project once, lists the build's selection for resolveBuildGraph, then waits, and runs the
// build's `dbt build` on the same manifest when runBuild claims it. A watched build then starts
// dbt and parses the project once, as a plain `dbt build` does (issue 13: the second start-up
// and parse cost 1.5-2 s per build). Every invocation writes what the dbt CLI writes (its JSON
// log lines, its artifacts, its log file, its exit code), so DbtRun treats both alike.
// Anything unusual (another worker runs the build, a retried attempt, a wait past
// DBT_RUNNER_IDLE_MS) falls back to a `dbt build` process of its own, as before.
import { closeSync, openSync, readSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { booleanFromEnv } from '../config.js';
import { RUNNER_STDOUT_FLAGS, streamsEvents } from './command.js';
import { STREAMED_EVENTS } from './events.js';
import { InvocationLog, type InvocationHandlers, type RunningInvocation } from './invocation.js';
import { exitedWithin, spawnDbt, type DbtExit, type DbtProcess } from './process.js';

const RUNNER_SCRIPT = fileURLToPath(new URL('./dbt_runner.py', import.meta.url));

/** The line dbt_runner.py writes after each command: `{"watcher_dbt_runner": {"exit": N}}`. */
const DONE_MARKER = '{"watcher_dbt_runner":';

/** How long a runner waits between its listing and its build before it ends (the build then starts its own dbt). */
export const DBT_RUNNER_IDLE_MS = 60_000;
/** How often a held runner asks whether its build still runs (one that closed will not claim it). */
export const DBT_RUNNER_CHECK_MS = 1_000;

/** WATCHER_DBT_RUNNER: whether builds use the dbt runner (default yes; `false` runs one dbt process per invocation). */
export function dbtRunnerFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return booleanFromEnv('WATCHER_DBT_RUNNER', true, env);
}

/**
 * The Python a dbt executable runs on (its `#!` line), when it is a Python entry point beside
 * that Python (a venv's `bin/dbt`): the runner imports dbt there. Undefined otherwise (a dbt on
 * the PATH by name, a wrapper script): builds then run dbt as a process per invocation.
 */
export function pythonOfDbt(dbtBin: string): string | undefined {
  if (!path.isAbsolute(dbtBin)) return undefined;
  let head: string;
  try {
    const fd = openSync(dbtBin, 'r');
    try {
      const buffer = Buffer.alloc(512);
      head = buffer.toString('utf8', 0, readSync(fd, buffer, 0, buffer.length, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  const shebang = /^#!(\S+)\r?\n/.exec(head)?.[1];
  if (!shebang || !/\/python[0-9.]*$/.test(shebang) || !head.includes('from dbt.cli.main import')) return undefined;
  return shebang;
}

/** The command a runner is running: its log, and how it ends (unset for a command nobody waits on). */
interface RunnerCommand {
  log: InvocationLog;
  done?: (exit: DbtExit) => void;
}

export class DbtRunnerProcess {
  /** The runner's process (its pid, its stop, its exit). */
  readonly process: DbtProcess;
  private current: RunnerCommand | undefined;
  private closed = false;

  /**
   * Start a runner for the invocation dir `forDir` it lists in (in its command line, so `ps` and
   * test teardowns see whose it is; the invocation it runs later is in that one's dbt.pid record). `envArgs`: the dbt arguments its environment is chosen for (the
   * project's profile, as for a dbt process). Throws as spawnDbt does (DbtNotFoundError, NotTiedError).
   */
  constructor(options: { python: string; forDir: string; cwd: string; env: NodeJS.ProcessEnv; envArgs: readonly string[] }) {
    this.process = spawnDbt(options.python, [RUNNER_SCRIPT, options.forDir], {
      cwd: options.cwd,
      env: options.env,
      envArgs: options.envArgs,
      stdin: 'pipe',
      onStdoutLine: (line) => this.line(line),
    });
    // A runner that dies between commands ends the one it was running, if any.
    void this.process.exited.then(
      (exit) => this.finishCurrent(exit),
      () => this.finishCurrent({ code: null, signal: null, stderrTail: [] }),
    );
  }

  /**
   * Run one dbt command in this runner (`args` as for the dbt CLI). Not `last`: its outcome comes
   * when the command is done, and the runner waits for the next. `last`: the runner exits after
   * it, and its outcome is the process's exit (as a dbt process's). One command at a time.
   */
  invoke(args: readonly string[], handlers: InvocationHandlers, { last }: { last: boolean }): RunningInvocation {
    if (this.closed) throw new Error('this dbt runner was closed');
    if (this.current) throw new Error('this dbt runner is running a command already');
    const log = new InvocationLog(handlers);
    const current: RunnerCommand = { log };
    this.current = current;
    let outcome: Promise<DbtExit>;
    if (last) {
      // The process's exit is the outcome: stdout is read to its end by then.
      outcome = this.process.exited;
    } else {
      outcome = new Promise<DbtExit>((resolve) => (current.done = resolve));
    }
    // A streaming command's events come from the runner's callback, not dbt's stdout log (command.ts).
    const command = streamsEvents(args) ? { argv: [...args, ...RUNNER_STDOUT_FLAGS], stdout_events: STREAMED_EVENTS } : args;
    this.process.stdin?.write(`${JSON.stringify(command)}\n`);
    if (last) this.close();
    return { process: this.process, outcome: outcome.then((exit) => log.outcome(exit)), invocationId: () => log.invocationId() };
  }

  /** No more commands: the runner exits once its current one is done (at once when idle). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.process.stdin?.end();
  }

  /** Close an idle runner and wait until it is gone (stopped after `graceMs` if it is not). */
  async end(graceMs: number): Promise<void> {
    this.close();
    if (!(await exitedWithin(this.process.exited, graceMs))) await this.process.stop(graceMs).catch(() => undefined);
  }

  private line(line: string): void {
    const current = this.current;
    if (line.startsWith(DONE_MARKER)) {
      const code = exitCodeOfMarker(line);
      if (current?.done) {
        this.current = undefined;
        current.done({ code, signal: null, stderrTail: [] });
      }
      return;
    }
    current?.log.line(line);
  }

  private finishCurrent(exit: DbtExit): void {
    const current = this.current;
    this.current = undefined;
    current?.done?.(exit);
  }
}

function exitCodeOfMarker(line: string): number {
  try {
    const code = (JSON.parse(line) as { watcher_dbt_runner?: { exit?: unknown } }).watcher_dbt_runner?.exit;
    return typeof code === 'number' ? code : 2;
  } catch {
    return 2;
  }
}

/**
 * The worker's runners between a build's listing and its build, one per build at most. A held
 * runner ends when its build closes without claiming it (a rejected or failed build: checked
 * every `checkMs`) or after `idleMs` (a build queued behind its target's lock), so none waits
 * longer than that.
 */
export class DbtRunners {
  private readonly held = new Map<string, DbtRunnerProcess>();

  constructor(
    /** The Python that imports dbt (pythonOfDbt). */
    readonly python: string,
    /** Whether the build still runs (unknown: true). */
    private readonly isBuildOpen: (buildId: string) => Promise<boolean>,
    private readonly timing = { idleMs: DBT_RUNNER_IDLE_MS, checkMs: DBT_RUNNER_CHECK_MS, stopGraceMs: 5_000 },
  ) {}

  /** Keep `runner` for the build's `dbt build`; one held before for the same build is ended. */
  hold(buildId: string, runner: DbtRunnerProcess): void {
    void this.claim(buildId)?.end(this.timing.stopGraceMs);
    this.held.set(buildId, runner);
    void this.watch(buildId, runner);
  }

  /** The runner held for the build, now the caller's (to invoke or to end). */
  claim(buildId: string): DbtRunnerProcess | undefined {
    const runner = this.held.get(buildId);
    this.held.delete(buildId);
    return runner;
  }

  private async watch(buildId: string, runner: DbtRunnerProcess): Promise<void> {
    const deadline = Date.now() + this.timing.idleMs;
    const stillHeld = () => this.held.get(buildId) === runner;
    while (stillHeld()) {
      // Unref'd: a runner is tied to this process, and never keeps it alive.
      await new Promise((resolve) => setTimeout(resolve, this.timing.checkMs).unref());
      if (!stillHeld()) return;
      const open = Date.now() < deadline && (await this.isBuildOpen(buildId).catch(() => true));
      if (!open && stillHeld()) {
        this.held.delete(buildId);
        await runner.end(this.timing.stopGraceMs);
      }
    }
  }
}
