// One dbt invocation end to end, as dagster-dbt's DbtCliInvocation: it spawns dbt (argv only),
// streams its events, stops dbt when its AbortSignal fires, keeps an optional heartbeat going
// while dbt runs, reads this invocation's run_results.json, and ends in ONE classified outcome.
// No Temporal here: activities/dbt-failures.ts turns an outcome into an activity's failure, and
// each activity decides which outcomes let it go on.
import type { DbtNodeResult } from '../contracts/messages.js';
import { readRunResults } from './artifacts.js';
import type { InvocationPaths } from './command.js';
import type { DbtRunnerProcess } from './dbt-runner-process.js';
import type { DbtEvent } from './events.js';
import { describeDbtFailure, startInvocation, type InvocationOutcome, type RunningInvocation } from './invocation.js';
import { NotTiedError } from '../tie-to-parent.js';
import { DbtNotFoundError } from './process.js';
import { EventTranslator, resultFromRunResult } from './translate.js';

export interface DbtRunOptions {
  dbtBin: string;
  args: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The invocation's private paths (the args name them): its run_results.json is read here. */
  paths: InvocationPaths;
  /** Every dbt event, as it arrives. */
  onEvent?: (event: DbtEvent) => void;
  /** The node result of a terminal node event, translated, after `onEvent` saw the event. */
  onResult?: (result: DbtNodeResult, event: DbtEvent) => void;
  /** Every stdout line that is not a JSON event (e.g. `dbt ls` results), none dropped. */
  onPlainLine?: (line: string) => void;
  /**
   * Run in this dbt runner (one process that parsed the project once) instead of a dbt process
   * of its own; `last`: the runner exits after this invocation. `dbtBin` is then not used.
   */
  runner?: { process: DbtRunnerProcess; last: boolean };
}

export interface DbtRunWaitOptions {
  /** When it aborts, dbt's process group is stopped (SIGINT, then SIGTERM, then SIGKILL). */
  signal: AbortSignal;
  /** Time dbt gets after SIGINT before SIGTERM. */
  stopGraceMs: number;
  /** Started when the wait begins (dbt is running); the function it returns is called once dbt has ended. */
  heartbeat?: () => () => void;
}

/** How one dbt invocation ended. Each caller decides which kinds it can go on with. */
export type DbtRunOutcome =
  /** dbt cannot be started: its executable does not exist, or it cannot be tied to the worker's life. Nothing ran. */
  | { kind: 'not-found'; message: string }
  /** Exit 0. */
  | { kind: 'ok'; invocation: InvocationOutcome }
  /** Exit 1: dbt ran to its end, and some node or test failed. */
  | { kind: 'nodes-failed'; invocation: InvocationOutcome; message: string }
  /** Exit 2 (parse error, bad profile, Ctrl-C) or any other code: dbt itself failed. */
  | { kind: 'dbt-failed'; invocation: InvocationOutcome; message: string }
  /** dbt died of a signal this run did not send. */
  | { kind: 'crashed'; invocation: InvocationOutcome; message: string }
  /** The signal aborted while dbt ran: dbt was stopped, whatever its exit. `reason` is the signal's. */
  | { kind: 'canceled'; invocation: InvocationOutcome; reason: unknown };

/** Why dbt was never started; retrying does not help (an operator must install or point DBT at it). */
type CannotStartError = DbtNotFoundError | NotTiedError;
function isCannotStart(value: unknown): value is CannotStartError {
  return value instanceof DbtNotFoundError || value instanceof NotTiedError;
}

export class DbtRun {
  private constructor(
    private readonly options: DbtRunOptions,
    /** The running dbt, or why it could not start. */
    private readonly started: RunningInvocation | CannotStartError,
  ) {}

  /** Spawn dbt now. A missing or untiable executable is not thrown: it is the outcome of `wait()`. */
  static start(options: DbtRunOptions): DbtRun {
    const { onEvent, onResult } = options;
    // One translator per invocation: it remembers the queries dbt canceled in this one.
    const translator = new EventTranslator();
    const handleEvent = (event: DbtEvent) => {
      onEvent?.(event);
      const result = onResult ? translator.translate(event) : undefined;
      if (result) onResult?.(result, event);
    };
    const handlers = { onEvent: onEvent || onResult ? handleEvent : undefined, onPlainLine: options.onPlainLine };
    try {
      const running = options.runner
        ? options.runner.process.invoke(options.args, handlers, { last: options.runner.last })
        : startInvocation({ dbtBin: options.dbtBin, args: options.args, cwd: options.cwd, env: options.env, ...handlers });
      return new DbtRun(options, running);
    } catch (err) {
      if (!isCannotStart(err)) throw err;
      return new DbtRun(options, err);
    }
  }

  /** dbt's process id (-1 if the OS gave none), undefined when dbt could not be started. */
  get pid(): number | undefined {
    return isCannotStart(this.started) ? undefined : this.started.process.pid;
  }

  /** The invocation id from dbt's first log line (undefined until it arrives). */
  invocationId(): string | undefined {
    return isCannotStart(this.started) ? undefined : this.started.invocationId();
  }

  /** Wait for dbt to end, stopping it if `signal` aborts meanwhile. Call once. */
  async wait({ signal, stopGraceMs, heartbeat }: DbtRunWaitOptions): Promise<DbtRunOutcome> {
    const running = this.started;
    if (isCannotStart(running)) return { kind: 'not-found', message: running.message };
    const stopHeartbeat = heartbeat?.();
    let canceled = false;
    let reason: unknown;
    const onAbort = () => {
      canceled = true;
      reason = signal.reason;
      void running.process.stop(stopGraceMs);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    let invocation: InvocationOutcome;
    try {
      invocation = await running.outcome;
    } catch (err) {
      // dbt on the PATH but not there: spawn reports it only once it tried.
      if (err instanceof DbtNotFoundError) return { kind: 'not-found', message: err.message };
      throw err;
    } finally {
      signal.removeEventListener('abort', onAbort);
      stopHeartbeat?.();
    }
    if (canceled) return { kind: 'canceled', invocation, reason };
    return classifyExit(invocation);
  }

  /**
   * This invocation's results in run_results.json, for nodes whose event never came (fail-fast,
   * a crashed thread, Ctrl-C): none when dbt wrote no run_results.json for this invocation.
   */
  async runResults(): Promise<DbtNodeResult[]> {
    const runResults = await readRunResults(this.options.paths.targetPath, this.invocationId());
    return (runResults?.results ?? []).map(resultFromRunResult);
  }
}

/** dbt's exit codes: 0 success, 1 some node failed, 2 (or anything else) dbt failed; no code: a signal. */
function classifyExit(invocation: InvocationOutcome): DbtRunOutcome {
  const { code } = invocation.exit;
  if (code === 0) return { kind: 'ok', invocation };
  const message = describeDbtFailure(invocation);
  if (code === 1) return { kind: 'nodes-failed', invocation, message };
  if (code === null) return { kind: 'crashed', invocation, message };
  return { kind: 'dbt-failed', invocation, message };
}
