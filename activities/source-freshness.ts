// `dbt source freshness` before a build (sourceFreshness `warn` / `skip-stale`): ONE dbt
// invocation over the sources the build's nodes read, through the dbt run object. It never
// fails the build for what dbt found or for dbt itself failing: those are warnings, and the
// build then builds everything. Only a cancellation (the build's) ends it with a failure.
import { Context } from '@temporalio/activity';
import { decideStaleSkips, sourceFreshnessResults } from '../src/build/source-freshness.js';
import { sourceFreshnessMode, type BuildInput } from '../src/contracts/build-input.js';
import type { DbtNodeResult } from '../src/contracts/messages.js';
import { isStaleSource, skippedNodesBySource, type SourceFreshnessResult, type StaleSkip } from '../src/contracts/source-freshness.js';
import { readManifest, readSourcesJson } from '../src/dbt/artifacts.js';
import { sourceFreshnessArgs } from '../src/dbt/command.js';
import { DbtRun } from '../src/dbt/dbt-run.js';
import { prepareInvocationPaths } from '../src/dbt/invocation.js';
import { argvBytes } from '../src/dbt/shadow-project.js';
import type { Alert } from '../src/monitoring/alerts.js';
import { sourceFreshnessAlert } from '../src/monitoring/check-alerts.js';
import { assertProjectDir } from './dbt-failures.js';
import type { ActivityDeps } from './deps.js';
import { keepHeartbeating } from './heartbeat.js';
import { maxSelectionArgvBytes } from './run-build.js';

export interface CheckSourceFreshnessInput {
  buildId: string;
  input: BuildInput;
  /** The sources the build's nodes read: unique_id -> exact `source:` selector (the plan's). */
  sources: Record<string, string>;
  /** The build's planned nodes, parents first (the plan's order). */
  consumers: string[];
}

export interface SourceFreshnessCheck {
  invocationId?: string;
  results: SourceFreshnessResult[];
  /** `skip-stale`: the nodes the build leaves out, with the cause each consumer ends with. */
  skips: StaleSkip[];
  /** One per stale source: the notifier sends each (source, max_loaded_at) once. */
  alerts: Alert[];
  warnings: string[];
}

export async function checkSourceFreshness(deps: ActivityDeps, { buildId, input, sources, consumers }: CheckSourceFreshnessInput): Promise<SourceFreshnessCheck> {
  assertProjectDir(input.projectDir);
  const warnings: string[] = [];
  const ids = Object.keys(sources);
  if (ids.length === 0) return { results: [], skips: [], alerts: [], warnings: ['the selected nodes read no dbt source: nothing to check'] };

  const ctx = Context.current();
  const paths = await prepareInvocationPaths(input.projectDir, buildId, `source-freshness-${ctx.info.attempt}`);
  // Past the OS argument limit, every source with a freshness config is checked, and only
  // these are looked at.
  let selection = Object.values(sources);
  if (argvBytes(selection) > maxSelectionArgvBytes()) selection = [];
  const events: DbtNodeResult[] = [];
  const run = DbtRun.start({
    dbtBin: deps.dbtBin,
    args: sourceFreshnessArgs(input, paths, selection),
    cwd: input.projectDir,
    env: deps.dbtEnv,
    paths,
    onResult: (result) => events.push(result),
  });
  const outcome = await run.wait({
    signal: ctx.cancellationSignal,
    stopGraceMs: deps.stopGraceMs,
    heartbeat: () => keepHeartbeating(deps.heartbeatIntervalMs, () => ({ phase: 'dbt source freshness' })),
  });
  if (outcome.kind === 'canceled') throw outcome.reason ?? new Error('activity cancelled');
  if (outcome.kind === 'not-found' || outcome.kind === 'dbt-failed' || outcome.kind === 'crashed') {
    warnings.push(`dbt source freshness failed, so every node is built: ${outcome.message}`);
  }
  // Exit 1 is dbt's way of saying a source is stale or its freshness could not be computed.
  const invocationId = outcome.kind === 'not-found' ? undefined : outcome.invocation.invocationId;
  const results = sourceFreshnessResults(await readSourcesJson(paths.targetPath, invocationId), events, new Set(ids));
  for (const r of results.filter((x) => x.status === 'runtime error')) {
    warnings.push(`the freshness of ${r.uniqueId} could not be computed, so what reads it is built: ${r.message ?? 'no message'}`);
  }

  const skips = sourceFreshnessMode(input) === 'skip-stale' ? await staleSkips(input, paths.targetPath, consumers, results, warnings) : [];
  const skippedBy = skippedNodesBySource(skips);
  const occurredAt = new Date().toISOString();
  const alerts = results.filter(isStaleSource).map((r) => sourceFreshnessAlert(r, { buildId, skipped: skippedBy.get(r.uniqueId) ?? [] }, occurredAt));
  return { ...(invocationId ? { invocationId } : {}), results, skips, alerts, warnings };
}

/** The nodes to leave out, or none (with a warning) when the build cannot leave them out. */
async function staleSkips(
  input: BuildInput,
  targetPath: string,
  consumers: string[],
  results: SourceFreshnessResult[],
  warnings: string[],
): Promise<StaleSkip[]> {
  if (!results.some(isStaleSource)) return [];
  // dbt's own graph of this invocation: every command writes manifest.json after parsing.
  const manifest = await readManifest(targetPath);
  if (!manifest) {
    warnings.push('dbt source freshness wrote no manifest.json, so no node is left out');
    return [];
  }
  const skips = decideStaleSkips(manifest, consumers, results);
  if (skips.length === 0) return [];
  if (input.selector) {
    // dbt ignores --exclude next to --selector.
    warnings.push(`a build with --selector cannot leave nodes out, so the ${skips.length} node(s) that read only stale sources are built`);
    return [];
  }
  if (argvBytes(skips.map((s) => s.selector)) > maxSelectionArgvBytes()) {
    warnings.push(`the ${skips.length} node(s) that read only stale sources are too many to leave out on dbt's command line, so they are built`);
    return [];
  }
  return skips;
}
