// The build activity: ONE `dbt build`, each node's result sent to its consumer the moment dbt
// reports it, then a reconciliation with run_results.json so every consumer gets a report.
// Its heartbeat is a checkpoint: an attempt that follows a dead worker resumes the build,
// running only what had no result yet and reporting no consumer twice.
import { Context } from '@temporalio/activity';
import path from 'node:path';
import { checkpointIndex, decodeCheckpoint, encodeCheckpoint, isCheckpoint } from '../src/build/checkpoint.js';
import { ReportTracker, type TrackedConsumer } from '../src/build/report-tracker.js';
import { planResume, type ResumeSelection } from '../src/build/resume.js';
import { integerFromEnv } from '../src/config.js';
import type { BuildInput } from '../src/contracts/build-input.js';
import type { NodeReport } from '../src/contracts/messages.js';
import type { StaleSkip } from '../src/contracts/source-freshness.js';
import { readManifest, readRunResults, type Manifest, type RunResults } from '../src/dbt/artifacts.js';
import { buildArgs, parseArgs, type InvocationPaths, type SelectionOverride } from '../src/dbt/command.js';
import { DbtRun } from '../src/dbt/dbt-run.js';
import { DbtEventNames, nodeInfoOf } from '../src/dbt/events.js';
import { dbtLogFile, readEarlierInvocation } from '../src/dbt/earlier-invocation.js';
import { buildWorkDir, prepareInvocationPaths, prepareLaterInvocationPaths } from '../src/dbt/invocation.js';
import { stopEarlierDbt, stopOrphanedDbtOfTarget, writeDbtProcessRecord } from '../src/dbt/process.js';
import { argvBytes, createShadowProject, RESUME_SELECTOR } from '../src/dbt/shadow-project.js';
import { targetKeyOf } from '../src/dbt/target-key.js';
import { missingResult, resultFromRunResult, utcTimestamp } from '../src/dbt/translate.js';
import { ConsumerSignals } from '../src/temporal/consumer-signals.js';
import { receivedReports } from '../src/temporal/consumer-states.js';
import { assertProjectDir, dbtRunFailure } from './dbt-failures.js';
import type { ActivityDeps } from './deps.js';
import { keepHeartbeating } from './heartbeat.js';

export interface RunBuildInput {
  buildId: string;
  input: BuildInput;
  /** The build's consumers and the tests that belong to each. */
  consumers: TrackedConsumer[];
  /** Nodes left out because everything they read is stale (sourceFreshness `skip-stale`). */
  staleSkips?: StaleSkip[];
}

export interface RunBuildResult {
  invocationId?: string;
  dbtVersion?: string;
  exitCode: number | null;
  /** Reports delivered to consumers (events + reconciliation). */
  reported: number;
  /** Consumers reported from run_results.json or as not run, because no event came. */
  reconciled: number;
  signalFailures: number;
  /** Set when this attempt resumed an earlier one: nodes it left out because they had finished. */
  resumedAfter?: number;
  /** Epoch ms when dbt exited (the start of the build's tail: consumers closing after dbt). */
  dbtExitedAtMs?: number;
}

/** Past this, a resumed build's selection goes to dbt as a YAML selector, not as arguments. */
export const MAX_SELECTION_ARGV_BYTES = 128 * 1024;

/** WATCHER_MAX_SELECTION_ARGV_BYTES (tests force the YAML selector with 1). */
export function maxSelectionArgvBytes(env: NodeJS.ProcessEnv = process.env): number {
  return integerFromEnv('WATCHER_MAX_SELECTION_ARGV_BYTES', MAX_SELECTION_ARGV_BYTES, 1, env);
}

/**
 * A consumer hears that its node is running only once it has run this long: most nodes end
 * sooner, and their consumers then get one signal (the report) instead of two: no `running`
 * task, search-attribute upsert or timeliness look-up while dbt needs the cores.
 */
const START_SIGNAL_DELAY_MS = 1_000;

export async function runBuild(deps: ActivityDeps, { buildId, input, consumers: planned, staleSkips = [] }: RunBuildInput): Promise<RunBuildResult> {
  assertProjectDir(input.projectDir);
  const consumers = withoutStaleTests(planned, staleSkips);
  const leftOut = new Set(staleSkips.map((s) => s.uniqueId));
  const ctx = Context.current();
  const attempt = ctx.info.attempt;
  const index = checkpointIndex(consumers);
  const previous = attempt > 1 && isCheckpoint(ctx.info.heartbeatDetails) ? decodeCheckpoint(index, ctx.info.heartbeatDetails) : undefined;

  let invocationId = previous?.invocationId;
  let dbtExitCode = previous?.dbtExitCode;
  const tracker = new ReportTracker(consumers, () => invocationId);
  if (previous) tracker.restore(previous);

  // Reports are checkpointed as delivered only once their signal went out.
  const delivered = new Set(previous?.reported ?? []);
  const undelivered = new Map<string, NodeReport>();
  const signals = new ConsumerSignals(deps.client, buildId, {
    concurrency: deps.signalConcurrency,
    abort: ctx.cancellationSignal,
    startDelayMs: START_SIGNAL_DELAY_MS,
    onDelivered: (report) => {
      delivered.add(report.uniqueId);
      undelivered.delete(report.uniqueId);
    },
    onError: (uniqueId, err) => console.error(`watcher: could not signal ${uniqueId}: ${String(err)}`),
  });
  const deliver = (reports: NodeReport[]) => {
    for (const r of reports) {
      undelivered.set(r.uniqueId, r);
      signals.report(r);
    }
  };
  const stopHeartbeats = keepHeartbeating(deps.heartbeatIntervalMs, () =>
    encodeCheckpoint(index, {
      invocationId,
      reported: [...delivered],
      finished: tracker.finishedStatuses(),
      partials: [...tracker.openPartials(), ...[...undelivered.values()].map((r) => ({ uniqueId: r.uniqueId, node: r.node, tests: r.tests }))],
      dbtExitCode,
    }),
  );

  try {
    let earlierRunResults: RunResults | undefined;
    if (attempt > 1) {
      const earlier = await catchUpWithEarlierAttempts(deps, { buildId, input, attempt, tracker, deliver });
      invocationId ??= earlier.invocationId;
      if (dbtExitCode === undefined && earlier.exitCode !== undefined) {
        dbtExitCode = earlier.exitCode;
        earlierRunResults = earlier.runResults;
      }
    }
    // Reports that were complete but had not reached their consumer when the last worker died.
    deliver(tracker.completeReady(Date.now()));
    // Left out on purpose (stale sources): their consumers end now, and are not retried.
    for (const { uniqueId, cause } of staleSkips) {
      for (const report of tracker.record({ ...missingResult(uniqueId, 'not_run', cause), status: 'skipped', dbtStatus: 'skipped' }, Date.now())) {
        deliver([{ ...report, cause, retryable: false }]);
      }
    }
    // The earlier dbt got to its end: run_results.json closes what it had no event for.
    for (const entry of earlierRunResults?.results ?? []) deliver(tracker.record(resultFromRunResult(entry), Date.now()));

    const finishedBefore = tracker.finishedStatuses().size;
    let openBefore = tracker.openCount();
    let dbtVersion: string | undefined;
    let dbtExitedAtMs: number | undefined;
    let skippedBelow = new Map<string, string>();
    let resume: ResumeSelection | undefined;
    // Nodes left out on purpose hold nothing below them back, and are not run.
    const finished = new Map([...tracker.finishedStatuses()].filter(([id]) => !leftOut.has(id)));
    if (dbtExitCode === undefined && finished.size > 0) {
      resume = planResume(await parseManifest(deps, input, buildId, attempt), finished, index.filter((id) => !leftOut.has(id)));
      skippedBelow = resume.skippedBelow;
      // Everything had a result or will not run: no dbt needed to finish the build.
      if (resume.select.length === 0) dbtExitCode = 0;
    }
    if (dbtExitCode === undefined) {
      const paths = await prepareLaterInvocationPaths(input.projectDir, buildId, buildInvocationName(attempt));
      const override: SelectionOverride | undefined = resume ? await resumeOverride(input, resume, paths) : undefined;

      // One dbt per target: this build holds the target's lock, so a dbt still writing it has
      // no live build (it outlived a terminated or dead one on this machine): stop it first.
      const targetKey = targetKeyOf(input);
      if (input.overlap !== 'allow') {
        const workDir = buildWorkDir(input.projectDir, buildId);
        const stopped = await stopOrphanedDbtOfTarget(path.dirname(workDir), targetKey, workDir, deps.stopGraceMs);
        if (stopped.length) console.error(`watcher: build ${buildId}: stopped ${stopped.length} dbt process(es) of an earlier build still writing its target (pids ${stopped.join(', ')})`);
      }

      // The runner that listed this build's selection has its manifest: a first attempt that
      // builds that selection runs in it (no second dbt start-up and parse). Else it exits.
      const runner = deps.dbtRunners?.claim(buildId);
      const inRunner = runner && attempt === 1 && !override ? { process: runner, last: true } : undefined;
      if (runner && !inRunner) await runner.end(deps.stopGraceMs);
      const run = DbtRun.start({
        runner: inRunner,
        dbtBin: deps.dbtBin,
        args: buildArgs(input, paths, override, staleSkips.map((s) => s.selector)),
        cwd: input.projectDir,
        env: deps.dbtEnv,
        paths,
        onEvent: (event) => {
          if (event.invocationId) invocationId = event.invocationId;
          if (event.name !== DbtEventNames.nodeStart) return;
          const info = nodeInfoOf(event);
          if (info && tracker.isConsumer(info.unique_id)) signals.started(info.unique_id, utcTimestamp(info.node_started_at) ?? event.ts);
        },
        onResult: (result, event) => deliver(tracker.record(result, Date.parse(event.ts) || Date.now())),
      });
      // A later attempt (after this worker died) finds this dbt by it, and waits for it to be gone.
      if (run.pid !== undefined) await writeDbtProcessRecord(invocationDirOf(paths), run.pid, { targetKey, locked: input.overlap !== 'allow' });
      const outcome = await run.wait({ signal: ctx.cancellationSignal, stopGraceMs: deps.stopGraceMs });
      if (outcome.kind === 'not-found') throw dbtRunFailure(outcome);
      dbtExitedAtMs = Date.now();
      dbtVersion = outcome.invocation.dbtVersion;

      // Whatever happened, run_results.json (when dbt wrote it for this invocation) is the truth
      // for nodes whose NodeFinished never came: fail-fast, a crashed thread, Ctrl-C.
      openBefore = tracker.openCount();
      for (const result of await run.runResults()) deliver(tracker.record(result, Date.now()));

      // Canceled, or dbt's "unhandled error" (2): parse error, bad profile, killed. Consumers
      // still open are told by the producer, which owns the build's failure.
      if (outcome.kind === 'canceled' || outcome.kind === 'dbt-failed' || outcome.kind === 'crashed') {
        await signals.drain();
        throw dbtRunFailure(outcome);
      }
      // Exit 0 or 1: dbt ran, and what it reported stands.
      dbtExitCode = outcome.kind === 'ok' ? 0 : 1;
    }

    // Below a failure from before the resume, dbt did not run anything: say why.
    for (const [id, because] of skippedBelow) {
      deliver(tracker.record({ ...missingResult(id, 'not_run', `skipped: upstream ${because} failed before the build resumed`), status: 'skipped', dbtStatus: 'skipped' }, Date.now()));
    }
    deliver(tracker.completeAll('not_run', 'dbt never ran this node (it reported no result: fail-fast, or an upstream ephemeral model failed)', true, Date.now()));
    const stats = await signals.drain();
    return {
      invocationId,
      dbtVersion,
      exitCode: dbtExitCode ?? null,
      reported: stats.delivered + stats.notFound,
      reconciled: openBefore,
      signalFailures: stats.failed,
      ...(attempt > 1 ? { resumedAfter: finishedBefore } : {}),
      dbtExitedAtMs,
    };
  } finally {
    signals.dropDelayedStarts();
    stopHeartbeats();
  }
}

/**
 * The consumers as this build reports them when nodes are left out: a left-out node waits for
 * no test, and a test it shares with a node that runs is not waited for either (dbt leaves out
 * every test of a node it excludes).
 */
function withoutStaleTests(consumers: TrackedConsumer[], staleSkips: readonly StaleSkip[]): TrackedConsumer[] {
  if (staleSkips.length === 0) return consumers;
  const leftOut = new Set(staleSkips.map((s) => s.uniqueId));
  const leftOutTests = new Set(consumers.filter((c) => leftOut.has(c.uniqueId)).flatMap((c) => c.tests));
  return consumers.map((c) => (leftOut.has(c.uniqueId) ? { uniqueId: c.uniqueId, tests: [] } : { ...c, tests: c.tests.filter((t) => !leftOutTests.has(t)) }));
}

/** The build's own dbt invocation of one attempt: `build-1`, `build-2`, ... */
function buildInvocationName(attempt: number): string {
  return `build-${attempt}`;
}

function invocationDirOf(paths: InvocationPaths): string {
  return path.dirname(paths.targetPath);
}

/**
 * A retried attempt (its worker died, or its heartbeat stopped) starts from the durable truth,
 * not only from its last checkpoint: every earlier dbt of this build is stopped first (one dbt
 * per target, and their logs are complete), consumers that Temporal says received their report
 * are reported, and what the earlier dbt logged on this machine counts as finished, reaching
 * consumers that never got it. What can still run twice: a node dbt finished on a machine that
 * is not this one, whose result reached no consumer.
 */
async function catchUpWithEarlierAttempts(
  deps: ActivityDeps,
  { buildId, input, attempt, tracker, deliver }: { buildId: string; input: BuildInput; attempt: number; tracker: ReportTracker; deliver: (reports: NodeReport[]) => void },
): Promise<{ invocationId?: string; exitCode?: number; runResults?: RunResults }> {
  const workDir = buildWorkDir(input.projectDir, buildId);
  const earlier = Array.from({ length: attempt - 1 }, (_, i) => path.join(workDir, buildInvocationName(i + 1)));
  for (const dir of earlier) {
    if ((await stopEarlierDbt(dir, deps.stopGraceMs)) === 'elsewhere') console.error(`watcher: build ${buildId}: ${path.basename(dir)} ran on another machine; its dbt must have stopped with its worker`);
  }

  const ctx = Context.current();
  tracker.restoreReceived(
    await receivedReports(deps.client, buildId, tracker.openConsumers(), { concurrency: deps.signalConcurrency, abort: ctx.cancellationSignal }),
  );

  let out: { invocationId?: string; exitCode?: number; runResults?: RunResults } = {};
  for (const dir of earlier) {
    const log = await readEarlierInvocation(dbtLogFile(path.join(dir, 'logs')));
    if (!log) continue;
    for (const result of log.results) deliver(tracker.record(result, Date.now()));
    if (log.completed) {
      const runResults = await readRunResults(path.join(dir, 'target'), log.invocationId);
      out = { invocationId: log.invocationId, exitCode: log.completed.success ? 0 : 1, runResults };
    } else {
      out = { ...out, invocationId: log.invocationId ?? out.invocationId };
    }
  }
  return out;
}

/** The graph, for a resumed attempt that must know what to leave out before dbt starts. */
async function parseManifest(deps: ActivityDeps, input: BuildInput, buildId: string, attempt: number): Promise<Manifest> {
  const paths = await prepareInvocationPaths(input.projectDir, buildId, `parse-${attempt}`);
  const run = DbtRun.start({ dbtBin: deps.dbtBin, args: parseArgs(input, paths), cwd: input.projectDir, env: deps.dbtEnv, paths });
  // No heartbeat of its own: runBuild's goes on meanwhile. Only exit 0 gives a whole manifest.
  const outcome = await run.wait({ signal: Context.current().cancellationSignal, stopGraceMs: deps.stopGraceMs });
  if (outcome.kind !== 'ok') throw dbtRunFailure(outcome);
  const manifest = await readManifest(paths.targetPath);
  if (!manifest) throw new Error(`dbt parse wrote no manifest in ${paths.targetPath}`);
  return manifest;
}

/** Plain flags while they fit; past the OS argument limit, a YAML selector in a shadow project. */
async function resumeOverride(
  input: BuildInput,
  resume: ResumeSelection,
  paths: InvocationPaths,
  maxArgvBytes = maxSelectionArgvBytes(),
): Promise<SelectionOverride> {
  const flags: SelectionOverride = { kind: 'flags', select: resume.select };
  if (argvBytes(buildArgs(input, paths, flags)) <= maxArgvBytes) return flags;
  const shadowDir = await createShadowProject(input.projectDir, path.join(path.dirname(paths.targetPath), 'project'), resume.select);
  return { kind: 'selector', projectDir: shadowDir, selector: RESUME_SELECTOR };
}
