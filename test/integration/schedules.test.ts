// Scheduled builds on the real stack: a Watcher schedule is a Temporal Schedule whose builds
// are ordinary builds (`watcher/<name>-<time>`, consumers, records) that carry its name.
// Crons here never fire during a test (1 January, midnight): builds come from trigger and backfill.
import { ScheduleNotFoundError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitForBuild } from '../../src/client.js';
import { buildWorkflowId, scheduleId } from '../../src/contracts/names.js';
import { parseScheduleDeclaration, type ScheduleDeclarationRaw } from '../../src/schedules/definition.js';
import {
  backfillSchedule,
  createSchedule,
  deleteSchedule,
  describeSchedule,
  pauseSchedule,
  syncSchedules,
  triggerSchedule,
  unpauseSchedule,
} from '../../src/schedules/temporal-schedules.js';
import { readWatcherFile } from '../../src/schedules/watcher-file.js';
import { createPool, type Pool } from '../../src/store/db.js';
import { buildExecution } from '../../src/store/queries.js';
import { PROJECT_ROOT } from '../../src/toolchain.js';
import { connectTestClient, consumerEnd, copyShopProject, listBuildWorkflows, SHOP_PROJECT, stack, uniqueName, waitForWorkflow } from '../support/stack.js';

const NEVER_DURING_THE_TEST = '0 0 1 1 *';
const ONE_SEED = 'seed.shop.raw_customers';
/** dbt's selector for it (the seed's name). */
const ONE_SEED_SELECTOR = 'raw_customers';

let client: Client;
let close: () => Promise<void>;
let pool: Pool;
beforeAll(async () => {
  ({ client, close } = await connectTestClient());
  pool = createPool(stack().databaseUrl);
});
afterAll(async () => {
  await pool.end();
  await close();
});

/** Schedules this file created: each test deletes its own, and ends the builds they started. */
const created = new Set<string>();
afterEach(async () => {
  for (const name of created) {
    const running = await describeSchedule(client, name).then(
      (v) => v.runningBuilds,
      () => [],
    );
    await deleteSchedule(client, name).catch(() => undefined);
    // A build that is still running (the test failed halfway) is terminated; its consumers go with it.
    const listed: string[] = [];
    for await (const wf of client.workflow.list({ query: `TemporalScheduledById = '${scheduleId(name)}' AND ExecutionStatus = 'Running'` })) listed.push(wf.workflowId);
    for (const workflowId of new Set([...running.map(buildWorkflowId), ...listed])) {
      await client.workflow
        .getHandle(workflowId)
        .terminate('schedules.test cleanup')
        .catch((err: unknown) => {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
        });
    }
  }
  created.clear();
});

function scheduleName(prefix: string): string {
  return uniqueName(prefix).replace(/_/g, '-');
}

/** A schedule of one-seed builds of the test project (own schema), on the test task queue. */
async function createTestSchedule(raw: Partial<ScheduleDeclarationRaw> & { name: string }): Promise<void> {
  const def = parseScheduleDeclaration(
    { cron: NEVER_DURING_THE_TEST, select: ONE_SEED_SELECTOR, nodeRetries: 0, ...raw, vars: { schema: uniqueName('t') } },
    SHOP_PROJECT,
  );
  created.add(def.name);
  await createSchedule(client, def, { taskQueue: stack().taskQueue, origin: 'cli' });
}

/** Wait for a build and every one of its consumers to close; return how it ended. */
async function buildEnded(buildId: string) {
  const handle = client.workflow.getHandle(buildWorkflowId(buildId));
  const result = await waitForBuild(handle);
  // A build that failed before it started its consumers has none to wait for.
  const seed = result.progress?.nodes.length ? await consumerEnd(client, buildId, ONE_SEED) : undefined;
  const description = await handle.describe();
  return { result, seed, description };
}

describe('a scheduled build', () => {
  it('triggered now, is an ordinary build named watcher/<name>-<time> that carries the schedule in its metadata and search attributes', async () => {
    const name = scheduleName('trig');
    await createTestSchedule({ name });
    const triggered = await triggerSchedule(client, name);
    expect(triggered.outcome).toBe('started');
    const buildId = (triggered as { buildId: string }).buildId;
    expect(buildId).toMatch(new RegExp(`^${name}-\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z$`));

    const { result, seed, description } = await buildEnded(buildId);
    expect(result.ok, result.error).toBe(true);
    expect(result.progress!.buildId).toBe(buildId);
    expect(result.progress!.nodes.map((n) => [n.uniqueId, n.status])).toEqual([[ONE_SEED, 'success']]);
    expect(seed?.closeStatus).toBe('COMPLETED');
    const attributes = description.searchAttributes;
    expect(attributes.WatcherSchedule).toEqual([name]);
    expect(attributes.WatcherBuildId).toEqual([buildId]);
    expect(attributes.TemporalScheduledById).toEqual([scheduleId(name)]);
    // The build and its consumer are found by build ID, as for any build; none is still running.
    const workflows = await listBuildWorkflows(client, buildId, 2);
    expect(workflows.map((w) => w.workflowId).sort()).toEqual([buildWorkflowId(buildId), `watcher/${buildId}/${ONE_SEED}`].sort());
    expect(workflows.filter((w) => w.status.name === 'RUNNING')).toEqual([]);
    expect((await client.workflow.getHandle(`watcher/${buildId}/group-1`).describe()).status.name).toBe('COMPLETED');

    const root = await buildExecution(pool, buildId);
    expect(root).toMatchObject({ status: 'success', parent_id: null });
    expect(root!.execution_metadata).toMatchObject({ build_id: buildId, schedule: name, workflow_id: buildWorkflowId(buildId) });

    const view = await describeSchedule(client, name, { buildStatus: true });
    expect(view.recentBuilds).toMatchObject([{ buildId, workflowId: buildWorkflowId(buildId), status: 'COMPLETED' }]);
    expect(view.runningBuilds).toEqual([]);
  });

  it('pause and unpause show in describe, with their notes', async () => {
    const name = scheduleName('pause');
    await createTestSchedule({ name });
    let view = await describeSchedule(client, name);
    expect(view).toMatchObject({ paused: false, overlap: 'skip', catchupWindowMs: 3_600_000, when: `cron "${NEVER_DURING_THE_TEST}"` });
    expect(view.nextRuns[0]!.toISOString()).toMatch(/-01-01T00:00:00\.000Z$/);
    await pauseSchedule(client, name, 'warehouse maintenance');
    view = await describeSchedule(client, name);
    expect(view).toMatchObject({ paused: true, note: 'warehouse maintenance' });
    await unpauseSchedule(client, name);
    view = await describeSchedule(client, name);
    expect(view.paused).toBe(false);
    expect(view.note).toMatch(/unpaused/);
  });

  it('a backfill of 00:00-02:00 every 1h with buffer-all starts one build per hour, one at a time', async () => {
    const name = scheduleName('fill');
    await createTestSchedule({ name, cron: undefined, every: '1h', overlap: 'buffer-all' });
    const overlap = await backfillSchedule(client, name, new Date('2026-01-01T00:00:00Z'), new Date('2026-01-01T02:00:00Z'));
    expect(overlap).toBe('buffer-all');
    // Temporal's backfill takes both ends of the range; each build is named for its nominal time.
    const buildIds = ['00', '01', '02'].map((h) => `${name}-2026-01-01T${h}:00:00Z`);
    const ends = [];
    for (const buildId of buildIds) {
      await waitForWorkflow(client, buildWorkflowId(buildId), 150_000);
      ends.push(await buildEnded(buildId));
    }
    for (const [i, { result, seed }] of ends.entries()) {
      expect(result.ok, `${buildIds[i]}: ${result.error}`).toBe(true);
      expect(seed?.closeStatus).toBe('COMPLETED');
    }
    // buffer-all: each build started only once the one before it had closed.
    for (let i = 1; i < ends.length; i++) {
      expect(ends[i]!.description.startTime.getTime()).toBeGreaterThanOrEqual(ends[i - 1]!.description.closeTime!.getTime());
    }
    const view = await describeSchedule(client, name);
    expect(view.recentBuilds.map((b) => b.buildId)).toEqual(buildIds);
    expect(view.actionsTaken).toBe(3);
  });

  it('trigger honours the overlap policy: skip while a build runs', async () => {
    const name = scheduleName('skip');
    await createTestSchedule({ name });
    const first = await triggerSchedule(client, name);
    expect(first.outcome).toBe('started');
    const buildId = (first as { buildId: string }).buildId;
    // The first build runs dbt for a few seconds: a second trigger meanwhile is skipped.
    const second = await triggerSchedule(client, name);
    const view = await describeSchedule(client, name);
    const { result } = await buildEnded(buildId);
    expect(result.ok, result.error).toBe(true);
    expect(second).toEqual({ outcome: 'skipped', overlap: 'skip', running: [buildId] });
    expect(view.recentBuilds.map((b) => b.buildId)).toEqual([buildId]);
  });

  it('delete removes the schedule', async () => {
    const name = scheduleName('del');
    await createTestSchedule({ name });
    await deleteSchedule(client, name);
    await expect(client.schedule.getHandle(scheduleId(name)).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
    await expect(describeSchedule(client, name)).rejects.toThrow(`no schedule named ${name}`);
  });
});

/** `watcher ...` as a user runs it, against the test stack. */
async function watcherCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const s = stack();
  const env = {
    ...process.env,
    TEMPORAL_ADDRESS: s.temporalAddress,
    TEMPORAL_NAMESPACE: s.namespace,
    WATCHER_TASK_QUEUE: s.taskQueue,
    WATCHER_HOME: mkdtempSync(path.join(os.tmpdir(), 'watcher-home-')),
  };
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'watcher.js'), ...args], { env, cwd: PROJECT_ROOT });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('watcher schedule (the command)', () => {
  it('creates a schedule with its flags, and a bad cron fails naming the field and creates nothing', async () => {
    const good = scheduleName('cli');
    created.add(good);
    const ok = await watcherCli(['schedule', 'create', good, SHOP_PROJECT, '--cron', NEVER_DURING_THE_TEST, '--timezone', 'Europe/Berlin', '--select', ONE_SEED_SELECTOR, '--overlap', 'buffer-one', '--paused', '--note', 'from the test']);
    expect(ok, ok.stderr).toMatchObject({ code: 0 });
    expect(ok.stdout).toMatch(new RegExp(`schedule ${good} created \\(watcher-schedule/${good}\\): cron "0 0 1 1 \\*" \\(Europe/Berlin\\), paused`));
    const view = await describeSchedule(client, good);
    expect(view).toMatchObject({ paused: true, note: 'from the test', overlap: 'buffer-one', taskQueue: stack().taskQueue, memo: { origin: 'cli', projectDir: SHOP_PROJECT } });
    expect(view.build).toEqual({ projectDir: SHOP_PROJECT, schedule: good, select: [ONE_SEED_SELECTOR] });
    const described = await watcherCli(['schedule', 'describe', good]);
    expect(described.stdout).toContain(`schedule ${good} (watcher-schedule/${good})`);
    expect(described.stdout).toMatch(/state: +paused \(from the test\)/);

    const bad = scheduleName('badcron');
    created.add(bad);
    const refused = await watcherCli(['schedule', 'create', bad, SHOP_PROJECT, '--cron', '0 25 * * *']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('watcher: invalid schedule input: cron: hour "25": 25 is out of range 0-23');
    await expect(client.schedule.getHandle(scheduleId(bad)).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
  });
});

describe('watcher.yml synced', () => {
  it('creates what is missing, writes nothing when nothing changed, updates what changed, and --prune deletes what it declared before', async () => {
    const project = copyShopProject();
    const [a, b, other] = [scheduleName('sync-a'), scheduleName('sync-b'), scheduleName('sync-cli')];
    for (const n of [a, b, other]) created.add(n);
    const write = (entries: string[]) => writeFileSync(path.join(project, 'watcher.yml'), `schedules:\n${entries.join('')}`);
    const entryA = (cron: string) => `  - name: ${a}\n    cron: "${cron}"\n    select: [${ONE_SEED_SELECTOR}]\n    vars: {schema: s1}\n`;
    const entryB = `  - name: ${b}\n    every: 1h\n    overlap: buffer-all\n    paused: true\n`;
    const sync = (prune = false) => syncSchedules(client, readWatcherFile(project), project, { taskQueue: stack().taskQueue, prune });
    // Temporal changes a schedule's conflict token with every write to it.
    const updatedAt = async (n: string) => Buffer.from((await client.schedule.getHandle(scheduleId(n)).describe()).raw.conflictToken ?? []).toString('hex');

    write([entryA(NEVER_DURING_THE_TEST), entryB]);
    expect(await sync()).toEqual({ created: [a, b], updated: [], unchanged: [], deleted: [] });
    expect(await describeSchedule(client, b)).toMatchObject({ paused: true, overlap: 'buffer-all', when: 'every 1h', memo: { origin: 'watcher.yml', projectDir: project } });
    const before = [await updatedAt(a), await updatedAt(b)];

    // Twice: the second sync writes nothing.
    expect(await sync()).toEqual({ created: [], updated: [], unchanged: [a, b], deleted: [] });
    expect([await updatedAt(a), await updatedAt(b)]).toEqual(before);

    // One entry changed: only it is updated.
    write([entryA('0 0 2 1 *'), entryB]);
    expect(await sync()).toEqual({ created: [], updated: [a], unchanged: [b], deleted: [] });
    expect((await describeSchedule(client, a)).when).toBe('cron "0 0 2 1 *"');
    expect(await updatedAt(b)).toEqual(before[1]);

    // A schedule created by hand is never pruned; one the file no longer declares is.
    await createTestSchedule({ name: other });
    write([entryA('0 0 2 1 *')]);
    // Listing is eventually consistent: wait until the list shows b before asking to prune it.
    let result = await sync(true);
    for (let i = 0; i < 40 && !result.deleted.includes(b); i++) {
      await new Promise((r) => setTimeout(r, 250));
      result = await sync(true);
    }
    expect(result).toMatchObject({ created: [], updated: [], unchanged: [a], deleted: [b] });
    await expect(client.schedule.getHandle(scheduleId(b)).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
    expect((await describeSchedule(client, other)).name).toBe(other);

    // A bad file changes nothing, naming the path.
    write([entryA('0 0 2 1 *'), `  - name: ${b}\n    cron: "every day"\n`]);
    expect(() => readWatcherFile(project)).toThrow(/schedules\[1\]\.cron: must have 5 fields/);
    await expect(client.schedule.getHandle(scheduleId(b)).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
  });
});
