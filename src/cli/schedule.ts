// `watcher schedule ...`: scheduled builds as Temporal Schedules (see src/schedules/). Every
// declaration is validated before anything connects, so a bad flag creates nothing.
import type { Client } from '@temporalio/client';
import Table from 'cli-table3';
import { Command, Option } from 'commander';
import path from 'node:path';
import { connectClient } from '../client.js';
import { loadConfig, type WatcherConfig } from '../config.js';
import {
  DEFAULT_CATCHUP_WINDOW_MS,
  formatDuration,
  OVERLAP_NAMES,
  parseInstant,
  parseScheduleDeclaration,
  type OverlapName,
  type ScheduleDeclarationRaw,
} from '../schedules/definition.js';
import {
  assertBackfillRange,
  backfillSchedule,
  createSchedule,
  deleteSchedule,
  describeSchedule,
  listSchedules,
  pauseSchedule,
  syncSchedules,
  triggerSchedule,
  unpauseSchedule,
  type ScheduleView,
} from '../schedules/temporal-schedules.js';
import { readWatcherFile } from '../schedules/watcher-file.js';
import { addBuildFlags, buildFieldsOfFlags, type BuildFlags } from './build-flags.js';
import { textArg } from './options.js';

async function withClient<T>(fn: (client: Client, config: WatcherConfig) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const { client, close } = await connectClient(config);
  try {
    return await fn(client, config);
  } finally {
    await close();
  }
}

interface CreateOptions extends BuildFlags {
  cron?: string;
  every?: string;
  timezone?: string;
  overlap?: string;
  catchupWindow?: string;
  paused?: boolean;
  note?: string;
}

/** The declaration the flags make: the same fields (and checks) as an entry of watcher.yml. */
export function declarationOfFlags(name: string, opts: CreateOptions): ScheduleDeclarationRaw {
  const raw: Record<string, unknown> = {
    name,
    cron: opts.cron,
    every: opts.every,
    timezone: opts.timezone,
    overlap: opts.overlap,
    catchupWindow: opts.catchupWindow,
    paused: opts.paused === true ? true : undefined,
    note: opts.note,
    ...buildFieldsOfFlags(opts),
  };
  for (const key of Object.keys(raw)) if (raw[key] === undefined) delete raw[key];
  return raw as ScheduleDeclarationRaw;
}

// Whole seconds: Temporal names builds to the second, and the milliseconds are noise.
const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

function scheduleTable(views: ScheduleView[]): string {
  const table = new Table({
    head: ['name', 'when', 'state', 'overlap', 'next run', 'last build'],
    style: { head: [], border: [] },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  for (const v of views) {
    const last = v.recentBuilds.at(-1);
    table.push([v.name, v.when ?? '(not created by Watcher)', v.paused ? 'paused' : 'active', v.overlap ?? '', v.nextRuns[0] ? iso(v.nextRuns[0]) : '', last?.buildId ?? '']);
  }
  return table.toString();
}

function describeText(v: ScheduleView, config: Pick<WatcherConfig, 'uiUrl' | 'namespace'>): string {
  const lines = [
    `schedule ${v.name} (${v.scheduleId})`,
    `  state:       ${v.paused ? 'paused' : 'active'}${v.note ? ` (${v.note})` : ''}`,
    `  when:        ${v.when ?? '(unknown: not created by Watcher)'}`,
    `  overlap:     ${v.overlap ?? '?'}; catch-up window ${formatDuration(v.catchupWindowMs)}`,
    `  declared by: ${v.memo ? (v.memo.origin === 'watcher.yml' ? `watcher.yml of ${v.memo.projectDir}` : '`watcher schedule create`') : '?'}`,
    `  task queue:  ${v.taskQueue ?? '?'}`,
    `  build input: ${JSON.stringify(v.build ?? {})}`,
    `  actions:     ${v.actionsTaken} taken, ${v.skippedForOverlap} skipped for overlap, ${v.missedCatchupWindow} missed the catch-up window`,
    `  next runs:   ${v.nextRuns.length ? v.nextRuns.slice(0, 5).map(iso).join(', ') : '(none)'}`,
    `  running:     ${v.runningBuilds.length ? v.runningBuilds.join(', ') : '(none)'}`,
    '  recent builds (oldest first):',
    ...(v.recentBuilds.length
      ? v.recentBuilds.map((b) => `    ${b.buildId}  ${b.status?.toLowerCase() ?? ''}  (for ${iso(b.scheduledAt)}, started ${iso(b.takenAt)})`)
      : ['    (none)']),
  ];
  if (config.uiUrl) {
    const ns = encodeURIComponent(config.namespace);
    lines.push(`  Temporal UI: ${config.uiUrl}/namespaces/${ns}/schedules/${encodeURIComponent(v.scheduleId)}`);
    lines.push(`  its builds:  ${config.uiUrl}/namespaces/${ns}/workflows?query=${encodeURIComponent(`WatcherSchedule="${v.name}"`)}`);
  }
  return lines.join('\n');
}

const json = (data: unknown) => console.log(JSON.stringify(data, null, 2));

export function scheduleCommand(): Command {
  const schedule = new Command('schedule').description('scheduled builds: Temporal Schedules whose action starts dbtBuild');

  const create = schedule
    .command('create')
    .description('create a schedule of builds of a dbt project (validated first: a bad flag creates nothing)')
    .argument('<name>', 'schedule name: letters, digits, _ and -; its builds are watcher/<name>-<time>')
    .argument('[projectDir]', 'the dbt project', textArg('[projectDir]'), '.')
    .option('--cron <expression>', 'five-field cron, e.g. "0 2 * * *" (or @daily, @hourly, ...)')
    .option('--every <duration>', 'an interval instead of cron, e.g. 15m, 1h, 1d')
    .option('--timezone <zone>', 'IANA time zone of the cron (default UTC)')
    .addOption(new Option('--overlap <policy>', 'a build is still running when the next is due').choices(OVERLAP_NAMES).default('skip'))
    .option('--catchup-window <duration>', 'how late a missed run (server down) may still start', formatDuration(DEFAULT_CATCHUP_WINDOW_MS))
    .option('--paused', 'create it paused')
    .option('--note <text>', 'a note shown with the schedule (e.g. why it is paused)');
  addBuildFlags(create).action(async (name: string, projectDir: string, opts: CreateOptions) => {
    const def = parseScheduleDeclaration(declarationOfFlags(name, opts), path.resolve(projectDir));
    await withClient(async (client, config) => {
      await createSchedule(client, def, { taskQueue: config.taskQueue, origin: 'cli' });
      const view = await describeSchedule(client, name);
      console.log(`schedule ${name} created (${view.scheduleId}): ${view.when}${view.paused ? ', paused' : ''}; next run ${view.nextRuns[0] ? iso(view.nextRuns[0]) : '(none)'}`);
    });
  });

  schedule
    .command('list')
    .description("Watcher's schedules")
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      withClient(async (client) => {
        const views = await listSchedules(client);
        if (opts.json) json(views);
        else console.log(views.length ? scheduleTable(views) : 'no schedules');
      }),
    );

  schedule
    .command('describe')
    .description('a schedule: spec, state, next runs, recent builds')
    .argument('<name>', 'the schedule', textArg('<name>'))
    .option('--json', 'print JSON')
    .action((name: string, opts: { json?: boolean }) =>
      withClient(async (client, config) => {
        const view = await describeSchedule(client, name, { buildStatus: true });
        if (opts.json) json(view);
        else console.log(describeText(view, config));
      }),
    );

  for (const [verb, what, fn] of [
    ['pause', 'stop starting builds until unpaused (running builds go on)', pauseSchedule],
    ['unpause', 'start building on schedule again', unpauseSchedule],
  ] as const) {
    schedule
      .command(verb)
      .description(what)
      .argument('<name>', 'the schedule', textArg('<name>'))
      .option('--note <text>', 'a note shown with the schedule (e.g. why it is paused)')
      .action((name: string, opts: { note?: string }) =>
        withClient(async (client) => {
          await fn(client, name, opts.note);
          console.log(`schedule ${name} ${verb}d`);
        }),
      );
  }

  schedule
    .command('trigger')
    .description("start a build now, under the schedule's overlap policy")
    .argument('<name>', 'the schedule', textArg('<name>'))
    .action((name: string) =>
      withClient(async (client) => {
        const r = await triggerSchedule(client, name);
        if (r.outcome === 'started') console.log(`schedule ${name}: build ${r.buildId} started (watcher status ${r.buildId})`);
        else if (r.outcome === 'requested') console.log(`schedule ${name}: build requested (overlap ${r.overlap}); see watcher schedule describe ${name}`);
        else console.log(`schedule ${name}: ${r.outcome} by overlap policy ${r.overlap}: ${r.running.join(', ')} still running`);
      }),
    );

  schedule
    .command('backfill')
    .description('take the runs due in [from, to] now, as if that time passed again')
    .argument('<name>', 'the schedule', textArg('<name>'))
    .requiredOption('--from <time>', 'ISO 8601, e.g. 2026-12-01T00:00:00Z')
    .requiredOption('--to <time>', 'ISO 8601')
    .addOption(new Option('--overlap <policy>', "override the schedule's overlap policy for this backfill").choices(OVERLAP_NAMES))
    .action((name: string, opts: { from: string; to: string; overlap?: OverlapName }) => {
      const from = parseInstant(opts.from, '--from');
      const to = parseInstant(opts.to, '--to');
      assertBackfillRange(from, to);
      return withClient(async (client) => {
        const overlap = await backfillSchedule(client, name, from, to, opts.overlap);
        console.log(`schedule ${name}: backfill of ${iso(from)} .. ${iso(to)} requested (overlap ${overlap}); see watcher schedule describe ${name}`);
      });
    });

  schedule
    .command('delete')
    .description('delete a schedule (builds it started go on: watcher cancel <buildId> stops one)')
    .argument('<name>', 'the schedule', textArg('<name>'))
    .action((name: string) =>
      withClient(async (client) => {
        await deleteSchedule(client, name);
        console.log(`schedule ${name} deleted`);
      }),
    );

  schedule
    .command('sync')
    .description("make the project's schedules match its watcher.yml (create, update what changed, --prune what is gone)")
    .argument('[projectDir]', 'the dbt project', textArg('[projectDir]'), '.')
    .option('--prune', 'delete the schedules this project declared before that watcher.yml no longer has')
    .option('--json', 'print JSON')
    .action((projectDir: string, opts: { prune?: boolean; json?: boolean }) => {
      const dir = path.resolve(projectDir);
      const file = readWatcherFile(dir);
      return withClient(async (client, config) => {
        const result = await syncSchedules(client, file, dir, { taskQueue: config.taskQueue, prune: opts.prune === true });
        if (opts.json) json(result);
        else {
          for (const [what, names] of Object.entries(result) as Array<[string, string[]]>) console.log(`${what}: ${names.length ? names.join(', ') : '-'}`);
        }
      });
    });

  return schedule;
}
