// `watcher monitor install|list` (the check Schedules) and `watcher check <check>` (one check
// now, as its workflow, so its alerts go out exactly as a scheduled run's would).
import type { Client } from '@temporalio/client';
import { Command, InvalidArgumentError, Option } from 'commander';
import { connectClient } from '../client.js';
import { CHECK_ID_PREFIX, CHECK_NAMES, CHECK_WORKFLOW_TYPES, checkInputSchema, MIN_RETENTION_DAYS, type CheckFinding, type CheckName, type CheckSummary } from '../contracts/checks.js';
import { parseInput } from '../contracts/validation.js';
import { loadConfig, type WatcherConfig } from '../config.js';
import { checkScheduleDefinitions, installCheckSchedules, listCheckSchedules, type CheckScheduleOptions, type CheckScheduleView, type InstallResult } from '../monitoring/check-schedules.js';
import { integerArg, numberArg } from './options.js';
import { renderTable } from './render.js';

async function withClient<T>(fn: (client: Client, taskQueue: string) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const { client, close } = await connectClient(config);
  try {
    return await fn(client, config.taskQueue);
  } finally {
    await close();
  }
}

/** The check Schedules as a short table: name, spec, next run. */
export function renderCheckSchedules(views: CheckScheduleView[]): string {
  return renderTable(
    ['schedule', 'spec (UTC)', 'workflow', 'next run', 'state'],
    views.map((v) => [v.scheduleId, v.cron ?? '', v.workflowType, v.nextRun?.toISOString() ?? '', v.paused ? 'paused' : 'active']),
  );
}

/** Install (create or update) the check Schedules and describe them: `watcher dev`, the demo, `monitor install`. */
export async function installMonitoring(client: Client, options: CheckScheduleOptions): Promise<{ result: InstallResult; views: CheckScheduleView[] }> {
  const result = await installCheckSchedules(client, options);
  return { result, views: await listCheckSchedules(client) };
}

export function monitorCommand(): Command {
  const monitor = new Command('monitor').description('the Temporal Schedules that run the checks (freshness, timeliness, failure rate, anomalies, log cleanup)');
  monitor
    .command('install')
    .description('create or update the check Schedules (idempotent)')
    .addOption(new Option('--retention-days <n>', `log cleanup keeps this many days (at least ${MIN_RETENTION_DAYS})`).argParser(integerArg('--retention-days')).default(MIN_RETENTION_DAYS))
    .addOption(new Option('--timeliness-lookback-minutes <n>', 'the timeliness check looks at executions started this long ago').argParser(integerArg('--timeliness-lookback-minutes')))
    .option('--paused', 'create missing Schedules paused')
    .action(async (opts: { retentionDays: number; timelinessLookbackMinutes?: number; paused?: boolean }) => {
      // Validated before connecting: a bad retention creates nothing.
      checkScheduleDefinitions({ taskQueue: '', retentionDays: opts.retentionDays, timelinessLookbackMinutes: opts.timelinessLookbackMinutes });
      await withClient(async (client, taskQueue) => {
        const { result, views } = await installMonitoring(client, { taskQueue, retentionDays: opts.retentionDays, timelinessLookbackMinutes: opts.timelinessLookbackMinutes, paused: opts.paused });
        console.error(`watcher: check schedules on task queue '${taskQueue}': created ${result.created.length ? result.created.join(', ') : 'none'}; updated ${result.updated.length ? result.updated.join(', ') : 'none'}`);
        console.log(renderCheckSchedules(views));
      });
    });
  monitor
    .command('list')
    .description('the check Schedules: spec, next run, state')
    .option('--json', 'print as JSON')
    .action(async (opts: { json?: boolean }) => {
      await withClient(async (client) => {
        const views = await listCheckSchedules(client);
        if (opts.json) console.log(JSON.stringify(views, null, 2));
        else console.log(views.length ? renderCheckSchedules(views) : 'no check schedules: run `watcher monitor install`');
      });
    });
  return monitor;
}

/** Columns of each check's table (every field is in --json). */
const COLUMNS: Record<CheckName, Array<[string, (f: CheckFinding) => unknown]>> = {
  freshness: [
    ['pipeline', (f) => f.pipeline_name],
    ['last DML', (f) => f.last_dml_timestamp],
    ['due by', (f) => f.due_by],
    ['threshold', (f) => `${f.freshness_number} ${f.freshness_datepart}`],
  ],
  timeliness: [
    ['execution', (f) => f.pipeline_execution_id],
    ['pipeline', (f) => f.pipeline_name],
    ['status', (f) => f.execution_status],
    ['started', (f) => f.start_date],
    ['due by', (f) => f.due_by],
    ['duration (s)', (f) => Math.round(Number(f.duration_seconds))],
  ],
  anomalies: [
    ['execution', (f) => f.pipeline_execution_id],
    ['pipeline', (f) => f.pipeline_name],
    ['metric', (f) => f.metric],
    ['value', (f) => f.value],
    ['normal band', (f) => `${round(f.band_min)} .. ${round(f.band_max)}`],
    ['z', (f) => round(f.z_score)],
    ['detected', (f) => f.detected_at],
  ],
  failures: [
    ['pipeline', (f) => f.pipeline_name],
    ['failed', (f) => `${f.failed_executions}/${f.total_executions}`],
    ['failed %', (f) => f.failure_percent],
    ['threshold %', (f) => f.threshold_percent],
    ['last failure', (f) => f.last_failure ?? ''],
  ],
};

function round(v: unknown): string {
  return Number(v).toFixed(2);
}

const FOUND_WORD: Record<CheckName, string> = { freshness: 'stale', timeliness: 'late', anomalies: 'anomalous', failures: 'failing' };

export function renderCheckSummary(summary: CheckSummary): string {
  const columns = COLUMNS[summary.check];
  const lines: string[] = [];
  // The header even with no rows: the columns say what the check would list.
  lines.push(renderTable(columns.map(([h]) => h), summary.findings.map((f) => columns.map(([, cell]) => String(cell(f) ?? '')))));
  const listed = summary.check === 'freshness' && summary.found > summary.findings.length ? ` (listed: the ${summary.findings.length} new; the others were alerted before)` : '';
  lines.push(`${summary.check}: ${summary.evaluated} evaluated, ${summary.found} ${FOUND_WORD[summary.check]}${listed}; ${summary.alertsSent} alert(s) sent${summary.truncated ? '; list truncated, see --json' : ''}`);
  for (const e of summary.alertErrors ?? []) lines.push(`alerts not delivered: ${e}`);
  return lines.join('\n');
}

/** Run one check now through Temporal and wait for it; exit code 1 when it found anything. */
export async function runCheckNow(client: Client, taskQueue: string, check: CheckName, args: Record<string, unknown>): Promise<CheckSummary> {
  const workflowId = `${CHECK_ID_PREFIX}${check}-now-${new Date().toISOString()}-${Math.random().toString(36).slice(2, 6)}`;
  return client.workflow.execute<(input: Record<string, unknown>) => Promise<CheckSummary>>(CHECK_WORKFLOW_TYPES[check], { taskQueue, workflowId, args: [args] });
}

export function checkCommand(): Command {
  return new Command('check')
    .description('run a check now (as its workflow: alerts go out as scheduled runs send them) and print what it found; exit 1 when anything is stale, late, anomalous or failing')
    .argument('<check>', CHECK_NAMES.join(' | '))
    .option('--json', 'print the summary as JSON')
    .addOption(new Option('--lookback-minutes <n>', 'timeliness: executions started this long ago (default 60); anomalies: detected this long ago (default 1440)').argParser(integerArg('--lookback-minutes')))
    .addOption(new Option('--threshold-percent <n>', 'failures: failing above this share of failed executions (default 20)').argParser(numberArg('--threshold-percent')))
    .addOption(new Option('--window-minutes <n>', 'failures: the window (default 1440)').argParser(integerArg('--window-minutes')))
    .addOption(new Option('--min-executions <n>', 'failures: judge only pipelines with at least this many executions in the window (default 5)').argParser(integerArg('--min-executions')))
    .action(async (check: string, opts: { json?: boolean; lookbackMinutes?: number; thresholdPercent?: number; windowMinutes?: number; minExecutions?: number }) => {
      if (!(CHECK_NAMES as readonly string[]).includes(check)) throw new InvalidArgumentError(`check must be one of ${CHECK_NAMES.join(', ')}, not ${JSON.stringify(check)}`);
      const name = check as CheckName;
      const args: Record<string, unknown> = {};
      if (opts.lookbackMinutes !== undefined) args.lookbackMinutes = opts.lookbackMinutes;
      if (opts.thresholdPercent !== undefined) args.thresholdPercent = opts.thresholdPercent;
      if (opts.windowMinutes !== undefined) args.windowMinutes = opts.windowMinutes;
      if (opts.minExecutions !== undefined) args.minExecutions = opts.minExecutions;
      // Validated before anything starts: an option the check does not take is named.
      parseInput(checkInputSchema(), { ...args, check: name }, `${name} check`);
      const summary = await withClient((client, taskQueue) => runCheckNow(client, taskQueue, name, args));
      console.log(opts.json ? JSON.stringify(summary, null, 2) : renderCheckSummary(summary));
      process.exitCode = summary.found > 0 ? 1 : 0;
    });
}

/**
 * `watcher dev`'s one call: connect to its stack, install the check Schedules, say so. A failure
 * is reported, not thrown: the stack is still useful without them (`watcher monitor install`).
 */
export async function installMonitoringOnStack(config: WatcherConfig): Promise<void> {
  try {
    const { client, close } = await connectClient(config);
    try {
      const { views } = await installMonitoring(client, { taskQueue: config.taskQueue });
      console.error(`watcher: check schedules installed: ${views.map((v) => `${v.name} (${v.cron ?? '?'})`).join(', ')}; see \`watcher monitor list\``);
    } finally {
      await close();
    }
  } catch (err) {
    console.error(`watcher: could not install the check schedules (${err instanceof Error ? err.message : String(err)}); run \`watcher monitor install\``);
  }
}
