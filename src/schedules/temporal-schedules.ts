// Watcher schedules as Temporal Schedules: each one's action starts `dbtBuild` on the task queue
// as `watcher/<name>-<nominal time>` (Temporal appends the time), so its builds are ordinary
// builds with build ID `<name>-<time>`. The Temporal server owns timing, overlap, catch-up,
// pause and backfill; this module only creates, reads and changes Schedules.
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  type Client,
  type ScheduleDescription,
  type ScheduleHandle,
  type ScheduleOptions,
  type ScheduleOptionsStartWorkflowAction,
  type Workflow,
} from '@temporalio/client';
import { SCHEDULE_MEMO_KEY } from '../contracts/trigger.js';
import { BUILD_WORKFLOW_TYPE, SCHEDULE_ID_PREFIX, scheduledBuildWorkflowIdBase, scheduleId, SearchAttributes } from '../contracts/names.js';
import { describeWhen, OVERLAP_POLICIES, overlapName, type OverlapName, type ScheduleDefinition } from './definition.js';
import { ensureSearchAttributes } from '../temporal/search-attributes.js';
import type { WatcherFile } from './watcher-file.js';

/** Who declared a schedule: `sync --prune` only ever deletes what a project's watcher.yml declared. */
export type ScheduleOrigin = 'cli' | 'watcher.yml';

/**
 * What Watcher keeps about a schedule, in the memo of the schedule's action. Not the Schedule's
 * own memo: UpdateSchedule cannot change that one, and the hash must change with every update.
 * (Every build the schedule starts carries it in its memo too: which declaration started it.)
 */
export interface ScheduleMemo {
  name: string;
  hash: string;
  origin: ScheduleOrigin;
  projectDir: string;
  /** As declared: Temporal turns a cron string into calendar specs, so describe cannot give it back. */
  when: ScheduleDefinition['when'];
}
const MEMO_KEY = SCHEDULE_MEMO_KEY;

export interface ScheduleTarget {
  taskQueue: string;
  origin: ScheduleOrigin;
}

/** The Temporal Schedule for a definition (pure: unit-tested). */
export function scheduleOptions(def: ScheduleDefinition, target: ScheduleTarget): ScheduleOptions<ScheduleOptionsStartWorkflowAction<Workflow>> {
  const memo: ScheduleMemo = { name: def.name, hash: def.hash, origin: target.origin, projectDir: def.build.projectDir, when: def.when };
  const project = def.build.projectDir.split('/').pop();
  return {
    scheduleId: scheduleId(def.name),
    spec:
      'cron' in def.when
        ? { cronExpressions: [def.when.cron], ...(def.when.timezone ? { timezone: def.when.timezone } : {}) }
        : { intervals: [{ every: def.when.everyMs }] },
    action: {
      type: 'startWorkflow',
      workflowType: BUILD_WORKFLOW_TYPE,
      workflowId: scheduledBuildWorkflowIdBase(def.name),
      taskQueue: target.taskQueue,
      args: [def.build],
      memo: { [MEMO_KEY]: memo },
      // The build sets its WatcherBuildId itself (it is known only once Temporal names the workflow).
      typedSearchAttributes: [
        { key: SearchAttributes.schedule, value: def.name },
        { key: SearchAttributes.resourceType, value: 'build' },
        { key: SearchAttributes.status, value: 'running' },
      ],
      staticSummary: `scheduled dbt build ${project} (schedule ${def.name})`,
    },
    policies: { overlap: OVERLAP_POLICIES[def.overlap], catchupWindow: def.catchupWindowMs },
    state: { paused: def.paused, ...(def.note !== undefined ? { note: def.note } : {}) },
  };
}

function handleOf(client: Client, name: string): ScheduleHandle {
  return client.schedule.getHandle(scheduleId(name));
}

/** Run `fn`, turning "no such schedule" into an error that names it. */
async function onSchedule<T>(name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) throw new Error(`no schedule named ${name} (${scheduleId(name)})`);
    throw err;
  }
}

/**
 * A schedule's action sets WatcherSchedule on every build it starts: a namespace without that
 * search attribute (its workers predate schedules) would make every start fail, so register it
 * first, as a worker does at start-up.
 */
async function ensureScheduleSearchAttribute(client: Client): Promise<void> {
  try {
    await ensureSearchAttributes(client.connection, client.options.namespace);
  } catch (err) {
    throw new Error(`cannot register Watcher's search attributes (${SearchAttributes.schedule.name}) on namespace ${client.options.namespace}: ${err instanceof Error ? err.message : String(err)}; start a worker of this version once, or add them as an operator`);
  }
}

export async function createSchedule(client: Client, def: ScheduleDefinition, target: ScheduleTarget): Promise<void> {
  await ensureScheduleSearchAttribute(client);
  try {
    await client.schedule.create(scheduleOptions(def, target));
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning) throw new Error(`schedule ${def.name} already exists (${scheduleId(def.name)}): delete it first, or declare it in watcher.yml and sync`);
    throw err;
  }
}

/** Replace spec, action, policies and state; Temporal keeps the schedule's history of actions. */
async function updateSchedule(client: Client, def: ScheduleDefinition, target: ScheduleTarget): Promise<void> {
  const { spec, action, policies, state } = scheduleOptions(def, target);
  await handleOf(client, def.name).update(() => ({ spec, action, policies, state: state ?? {} }));
}

export async function deleteSchedule(client: Client, name: string): Promise<void> {
  await onSchedule(name, () => handleOf(client, name).delete());
}

export async function pauseSchedule(client: Client, name: string, note?: string): Promise<void> {
  await onSchedule(name, () => handleOf(client, name).pause(note ?? 'paused with `watcher schedule pause`'));
}

export async function unpauseSchedule(client: Client, name: string, note?: string): Promise<void> {
  await onSchedule(name, () => handleOf(client, name).unpause(note ?? 'unpaused with `watcher schedule unpause`'));
}

// --- reading --------------------------------------------------------------------------------

export interface ScheduledBuild {
  buildId: string;
  workflowId: string;
  /** The nominal time Temporal started it for (a trigger's is the moment of the trigger). */
  scheduledAt: Date;
  takenAt: Date;
  /** Temporal's status of the build's workflow (RUNNING, COMPLETED, FAILED, ...), when asked for. */
  status?: string;
}

export interface ScheduleView {
  name: string;
  scheduleId: string;
  paused: boolean;
  note?: string;
  /** Undefined for a schedule under Watcher's prefix that Watcher did not create. */
  memo?: ScheduleMemo;
  when?: string;
  overlap?: OverlapName;
  catchupWindowMs: number;
  build?: Record<string, unknown>;
  taskQueue?: string;
  nextRuns: Date[];
  recentBuilds: ScheduledBuild[];
  runningBuilds: string[];
  actionsTaken: number;
  skippedForOverlap: number;
  missedCatchupWindow: number;
}

/** A scheduled build's ID: its workflow ID without `watcher/` (see BUILD_ID_PATTERN). */
export function buildIdOfWorkflowId(workflowId: string): string {
  return workflowId.startsWith('watcher/') ? workflowId.slice('watcher/'.length) : workflowId;
}

function memoOf(description: ScheduleDescription): ScheduleMemo | undefined {
  const memo = description.action.memo?.[MEMO_KEY];
  return memo && typeof memo === 'object' && 'hash' in memo ? (memo as ScheduleMemo) : undefined;
}

function viewOf(name: string, d: ScheduleDescription): ScheduleView {
  const memo = memoOf(d);
  return {
    name,
    scheduleId: d.scheduleId,
    paused: d.state.paused,
    note: d.state.note,
    memo,
    when: memo ? describeWhen(memo.when) : undefined,
    overlap: overlapName(d.policies.overlap),
    catchupWindowMs: d.policies.catchupWindow,
    build: (d.action.args?.[0] ?? undefined) as Record<string, unknown> | undefined,
    taskQueue: d.action.taskQueue,
    nextRuns: d.info.nextActionTimes,
    recentBuilds: d.info.recentActions.map((a) => ({
      buildId: buildIdOfWorkflowId(a.action.workflow.workflowId),
      workflowId: a.action.workflow.workflowId,
      scheduledAt: a.scheduledAt,
      takenAt: a.takenAt,
    })),
    runningBuilds: d.info.runningActions.map((a) => buildIdOfWorkflowId(a.workflow.workflowId)),
    actionsTaken: d.info.numActionsTaken,
    skippedForOverlap: d.info.numActionsSkippedOverlap,
    missedCatchupWindow: d.info.numActionsMissedCatchupWindow,
  };
}

export async function describeSchedule(client: Client, name: string, options: { buildStatus?: boolean } = {}): Promise<ScheduleView> {
  const view = await onSchedule(name, async () => viewOf(name, await handleOf(client, name).describe()));
  if (options.buildStatus) {
    // At most the schedule's last 10 actions: one describe each.
    await Promise.all(
      view.recentBuilds.map(async (b) => {
        b.status = await client.workflow
          .getHandle(b.workflowId)
          .describe()
          .then(
            (d) => d.status.name,
            () => 'UNKNOWN',
          );
      }),
    );
  }
  return view;
}

/** Names of the schedules under Watcher's prefix. Visibility is eventually consistent: a schedule created a moment ago may be missing. */
export async function listScheduleNames(client: Client): Promise<string[]> {
  const names: string[] = [];
  for await (const s of client.schedule.list()) {
    if (s.scheduleId.startsWith(SCHEDULE_ID_PREFIX)) names.push(s.scheduleId.slice(SCHEDULE_ID_PREFIX.length));
  }
  return names.sort();
}

/** Every Watcher schedule, described (one that disappears while listing is left out). */
export async function listSchedules(client: Client): Promise<ScheduleView[]> {
  const views: ScheduleView[] = [];
  for (const name of await listScheduleNames(client)) {
    try {
      views.push(await describeSchedule(client, name));
    } catch (err) {
      if (!(err instanceof Error && err.message.startsWith('no schedule named'))) throw err;
    }
  }
  return views;
}

// --- trigger and backfill -------------------------------------------------------------------

export type TriggerResult =
  | { outcome: 'started'; buildId: string }
  /** The overlap policy kept it from starting now (skip) or queued it (buffer-*) behind `running`. */
  | { outcome: 'skipped' | 'buffered'; overlap: OverlapName; running: string[] }
  /** Requested, but no build showed up within the wait (e.g. cancel-other waits for the old one to close). */
  | { outcome: 'requested'; overlap: OverlapName };

/**
 * Run the schedule's action now under its own overlap policy (the SDK's trigger defaults to
 * allow-all, which would let a manual trigger run beside a scheduled build). Then wait briefly
 * for the build it started, to name it.
 */
export async function triggerSchedule(client: Client, name: string, options: { waitMs?: number } = {}): Promise<TriggerResult> {
  const handle = handleOf(client, name);
  const before = await onSchedule(name, () => handle.describe());
  const overlap = overlapName(before.policies.overlap) ?? 'skip';
  const running = before.info.runningActions.map((a) => buildIdOfWorkflowId(a.workflow.workflowId));
  const known = new Set(before.info.recentActions.map((a) => a.action.workflow.workflowId));
  await handle.trigger(before.policies.overlap);
  if (running.length > 0 && overlap === 'skip') return { outcome: 'skipped', overlap, running };
  if (running.length > 0 && (overlap === 'buffer-one' || overlap === 'buffer-all')) return { outcome: 'buffered', overlap, running };
  const deadline = Date.now() + (options.waitMs ?? 10_000);
  for (;;) {
    const fresh = (await handle.describe()).info.recentActions.find((a) => !known.has(a.action.workflow.workflowId));
    if (fresh) return { outcome: 'started', buildId: buildIdOfWorkflowId(fresh.action.workflow.workflowId) };
    if (Date.now() > deadline) return { outcome: 'requested', overlap };
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Take the actions of [from, to] now, as if that time passed again (Temporal's backfill),
 * under the schedule's overlap policy unless `overlap` overrides it for this backfill.
 */
/** A backfill's range must not be empty (checked before anything connects, and again here). */
export function assertBackfillRange(from: Date, to: Date): void {
  if (!(from < to)) throw new Error(`--from (${from.toISOString()}) must be before --to (${to.toISOString()})`);
}

export async function backfillSchedule(client: Client, name: string, from: Date, to: Date, overlap?: OverlapName): Promise<OverlapName> {
  assertBackfillRange(from, to);
  const handle = handleOf(client, name);
  const description = await onSchedule(name, () => handle.describe());
  const policy = overlap ? OVERLAP_POLICIES[overlap] : description.policies.overlap;
  await handle.backfill({ start: from, end: to, overlap: policy });
  return overlap ?? overlapName(description.policies.overlap) ?? 'skip';
}

// --- sync -----------------------------------------------------------------------------------

export interface SyncResult {
  created: string[];
  updated: string[];
  unchanged: string[];
  deleted: string[];
}

/**
 * Make Temporal match a project's watcher.yml: create what is missing, update what changed
 * (the declaration's hash differs from the one stored with the schedule), leave the rest alone;
 * with `prune`, delete the schedules this project declared before that the file no longer has.
 * Everything is checked before the first change: a schedule name another project declared stops
 * the sync with nothing changed.
 */
export async function syncSchedules(client: Client, file: WatcherFile, projectDir: string, options: { taskQueue: string; prune: boolean }): Promise<SyncResult> {
  const result: SyncResult = { created: [], updated: [], unchanged: [], deleted: [] };
  const existing = await Promise.all(file.schedules.map((def) => describeIfExists(client, def.name)));
  file.schedules.forEach((def, i) => {
    const memo = existing[i] && memoOf(existing[i]);
    if (memo?.origin === 'watcher.yml' && memo.projectDir !== projectDir) {
      throw new Error(`schedules[${i}].name: schedule ${def.name} is declared by another project's watcher.yml (${memo.projectDir}); rename it`);
    }
  });
  const target: ScheduleTarget = { taskQueue: options.taskQueue, origin: 'watcher.yml' };
  if (file.schedules.length > 0) await ensureScheduleSearchAttribute(client);
  for (const [i, def] of file.schedules.entries()) {
    const current = existing[i];
    if (!current) {
      await createSchedule(client, def, target);
      result.created.push(def.name);
    } else if (memoOf(current)?.hash !== def.hash || memoOf(current)?.origin !== 'watcher.yml' || current.action.taskQueue !== options.taskQueue) {
      await updateSchedule(client, def, target);
      result.updated.push(def.name);
    } else {
      result.unchanged.push(def.name);
    }
  }
  if (options.prune) {
    const declared = new Set(file.schedules.map((s) => s.name));
    for (const name of await listScheduleNames(client)) {
      if (declared.has(name)) continue;
      const d = await describeIfExists(client, name);
      const memo = d && memoOf(d);
      if (memo?.origin !== 'watcher.yml' || memo.projectDir !== projectDir) continue;
      await deleteSchedule(client, name);
      result.deleted.push(name);
    }
  }
  return result;
}

async function describeIfExists(client: Client, name: string): Promise<ScheduleDescription | undefined> {
  try {
    return await handleOf(client, name).describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return undefined;
    throw err;
  }
}
