// GET /builds's target, trigger, schedule and date-range filters on the real stack: one real
// build started by each trigger (`watcher build` the command, POST /builds, a Watcher schedule),
// each of one seed, on targets of their own, listed and narrowed by every filter.
import type { Client } from '@temporalio/client';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildDetail, BuildSummary } from '../../src/api-client.js';
import { waitForBuild } from '../../src/client.js';
import { buildWorkflowId, scheduleId } from '../../src/contracts/names.js';
import { parseScheduleDeclaration } from '../../src/schedules/definition.js';
import { createSchedule, deleteSchedule, triggerSchedule } from '../../src/schedules/temporal-schedules.js';
import type { RunningServer } from '../../src/server/serve.js';
import type { Pool } from '../../src/store/db.js';
import { buildExecution } from '../../src/store/queries.js';
import { PROJECT_ROOT } from '../../src/toolchain.js';
import { SHOP_PROJECT, stack, uniqueName } from '../support/stack.js';
import { startStackServer, type StackServer } from '../support/stack-server.js';
import { shopProjectWithCiTarget } from '../support/targets.js';

const run = promisify(execFile);
const ONE_SEED = 'raw_customers';
const NEVER_DURING_THE_TEST = '0 0 1 1 *';

let server: RunningServer;
let pool: Pool;
let client: Client;
let started: StackServer | undefined;
/** A copy of the example project with a second target, `ci` (the same warehouse as `dev`). */
let twoTargets: string;
const scheduleName = uniqueName('filters').replace(/_/g, '-');
const cliBuildId = uniqueName('cli').replace(/_/g, '-');
const apiBuildId = uniqueName('api').replace(/_/g, '-');
let scheduledBuildId: string;
let startedAt: Date;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- assertions read any field of a JSON body
async function call(method: string, url: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${server.url}${url}`, {
    method,
    headers: body !== undefined ? { 'content-type': 'application/json' } : {},
    body: body !== undefined ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

async function list(query: string): Promise<BuildSummary[]> {
  const r = await call('GET', `/builds?limit=500&${query}`);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.builds as BuildSummary[];
}

/** The build IDs a filter keeps, of the three this file started. */
async function mine(query: string): Promise<string[]> {
  const ours = new Set([cliBuildId, apiBuildId, scheduledBuildId]);
  return (await list(query)).map((b) => b.buildId).filter((id) => ours.has(id)).sort();
}

/** `watcher build`, the command, against the test stack. */
async function cliBuild(): Promise<void> {
  const s = stack();
  const home = mkdtempSync(path.join(os.tmpdir(), 'watcher-cli-'));
  await run(
    process.execPath,
    [path.join(PROJECT_ROOT, 'bin/watcher.js'), 'build', twoTargets, '--target', 'ci', '--select', ONE_SEED, '--node-retries', '0', '--vars', JSON.stringify({ schema: uniqueName('t') }), '--build-id', cliBuildId, '--no-progress'],
    { env: { ...process.env, WATCHER_HOME: home, TEMPORAL_ADDRESS: s.temporalAddress, TEMPORAL_NAMESPACE: s.namespace, WATCHER_TASK_QUEUE: s.taskQueue }, cwd: home, timeout: 240_000 },
  );
}

/** POST /builds, then wait for the build to close. */
async function apiBuild(): Promise<void> {
  const started = await call('POST', '/builds', { projectDir: twoTargets, target: 'dev', select: ONE_SEED, nodeRetries: 0, buildId: apiBuildId, vars: { schema: uniqueName('t') } });
  expect(started.status, JSON.stringify(started.body)).toBe(201);
  const result = await waitForBuild(client.workflow.getHandle(buildWorkflowId(apiBuildId)));
  expect(result.ok, result.error).toBe(true);
}

/** A Watcher schedule (its cron never fires during the test), triggered now. */
async function scheduledBuild(): Promise<string> {
  const def = parseScheduleDeclaration({ name: scheduleName, cron: NEVER_DURING_THE_TEST, select: ONE_SEED, nodeRetries: 0, vars: { schema: uniqueName('t') } }, SHOP_PROJECT);
  await createSchedule(client, def, { taskQueue: stack().taskQueue, origin: 'cli' });
  const triggered = await triggerSchedule(client, scheduleName);
  expect(triggered.outcome).toBe('started');
  const buildId = (triggered as { buildId: string }).buildId;
  const result = await waitForBuild(client.workflow.getHandle(buildWorkflowId(buildId)));
  expect(result.ok, result.error).toBe(true);
  return buildId;
}

beforeAll(async () => {
  started = await startStackServer({ noAuth: true });
  ({ pool, client, server } = started);
  twoTargets = shopProjectWithCiTarget();
  startedAt = new Date(Date.now() - 1_000);
  // Three (project, target)s: they never queue behind each other.
  [scheduledBuildId] = await Promise.all([scheduledBuild(), cliBuild(), apiBuild()]);
});

afterAll(async () => {
  await deleteSchedule(client, scheduleName).catch(() => undefined);
  await started?.close();
});

describe('builds by trigger', () => {
  it('each records its trigger, target and schedule on its root execution', async () => {
    expect((await buildExecution(pool, cliBuildId))!.execution_metadata).toMatchObject({ trigger: 'cli', target: 'ci' });
    expect((await buildExecution(pool, apiBuildId))!.execution_metadata).toMatchObject({ trigger: 'api', target: 'dev' });
    const scheduled = (await buildExecution(pool, scheduledBuildId))!.execution_metadata!;
    expect(scheduled).toMatchObject({ trigger: 'schedule', schedule: scheduleName });
    expect(scheduled.target).toBeUndefined();
  });

  it('GET /builds lists each with its trigger, target and schedule', async () => {
    const byId = new Map((await list(`from=${encodeURIComponent(startedAt.toISOString())}`)).map((b) => [b.buildId, b]));
    expect(byId.get(cliBuildId)).toMatchObject({ status: 'success', project: 'shop', trigger: 'cli', target: 'ci', schedule: null, scheduleId: null });
    expect(byId.get(apiBuildId)).toMatchObject({ status: 'success', project: 'shop', trigger: 'api', target: 'dev', schedule: null, scheduleId: null });
    expect(byId.get(scheduledBuildId)).toMatchObject({
      status: 'success',
      project: 'shop',
      trigger: 'schedule',
      target: null,
      schedule: scheduleName,
      scheduleId: scheduleId(scheduleName),
    });
  });

  it('GET /builds/{id} says the same', async () => {
    const detail = (await call('GET', `/builds/${apiBuildId}`)).body as BuildDetail;
    expect(detail).toMatchObject({ buildId: apiBuildId, trigger: 'api', target: 'dev', schedule: null, scheduleId: null });
    const scheduled = (await call('GET', `/builds/${encodeURIComponent(scheduledBuildId)}`)).body as BuildDetail;
    expect(scheduled).toMatchObject({ trigger: 'schedule', schedule: scheduleName, scheduleId: scheduleId(scheduleName) });
  });
});

describe('GET /builds filters', () => {
  it('without a filter, all three', async () => {
    expect(await mine('')).toEqual([apiBuildId, cliBuildId, scheduledBuildId].sort());
  });

  it('trigger keeps the builds it started', async () => {
    expect(await mine('trigger=cli')).toEqual([cliBuildId]);
    expect(await mine('trigger=api')).toEqual([apiBuildId]);
    expect(await mine('trigger=schedule')).toEqual([scheduledBuildId]);
  });

  it('target keeps the builds of that target (exactly)', async () => {
    expect(await mine('target=ci')).toEqual([cliBuildId]);
    expect(await mine('target=dev')).toEqual([apiBuildId]);
    expect(await mine('target=CI')).toEqual([]);
    expect(await mine('target=ci&trigger=api')).toEqual([]);
  });

  it('schedule keeps its builds, by name or by Temporal Schedule ID', async () => {
    expect(await mine(`schedule=${scheduleName}`)).toEqual([scheduledBuildId]);
    expect(await mine(`schedule=${encodeURIComponent(scheduleId(scheduleName))}`)).toEqual([scheduledBuildId]);
    expect(await mine('schedule=no-such-schedule')).toEqual([]);
    expect(await mine(`schedule=${scheduleName}&trigger=cli`)).toEqual([]);
  });

  it('from/to bound the start date (to excluded); from after to is a 400 naming both', async () => {
    const all = await list(`from=${encodeURIComponent(startedAt.toISOString())}`);
    const starts = all.filter((b) => [cliBuildId, apiBuildId, scheduledBuildId].includes(b.buildId)).map((b) => b.startDate!);
    expect(starts).toHaveLength(3);
    const first = starts.reduce((a, b) => (a < b ? a : b));
    const last = starts.reduce((a, b) => (a > b ? a : b));
    const q = (from: string, to: string) => `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
    expect(await mine(q(first, new Date(Date.parse(last) + 1).toISOString()))).toHaveLength(3);
    // `to` is excluded: the last one to start is left out.
    expect(await mine(q(first, last))).toHaveLength(starts.filter((s) => s < last).length);
    expect(await mine(`from=${encodeURIComponent(new Date(Date.parse(last) + 1).toISOString())}`)).toEqual([]);
    expect(await mine(`to=${encodeURIComponent(startedAt.toISOString())}`)).toEqual([]);

    const backwards = await call('GET', `/builds?${q(last, first)}`);
    if (first !== last) {
      expect(backwards.status).toBe(400);
      expect(backwards.body.details.map((d: { field: string }) => d.field)).toEqual(['querystring.from', 'querystring.to']);
      expect(backwards.body.message).toMatch(/from .* is after to/);
    }
    const backwardsForSure = await call('GET', `/builds?${q('2026-12-02T00:00:00Z', '2026-12-01T00:00:00Z')}`);
    expect(backwardsForSure.status).toBe(400);
  });

  it('refuses an unknown trigger (422 naming the field)', async () => {
    const r = await call('GET', '/builds?trigger=carrier-pigeon');
    expect(r.status).toBe(422);
    expect(r.body.details[0].field).toBe('querystring.trigger');
  });
});

describe('a scheduled build recorded before builds recorded their trigger', () => {
  it('is still listed, and found, as scheduled (its root names its schedule)', async () => {
    // Last in this file: the scheduled build's root as a build of an earlier version recorded it.
    const root = (await buildExecution(pool, scheduledBuildId))!;
    await pool.query("UPDATE pipeline_execution SET execution_metadata = execution_metadata - 'trigger' WHERE id = $1", [root.id]);
    expect((await buildExecution(pool, scheduledBuildId))!.execution_metadata!.trigger).toBeUndefined();
    expect(await mine('trigger=schedule')).toEqual([scheduledBuildId]);
    const listed = (await list(`schedule=${scheduleName}`)).find((b) => b.buildId === scheduledBuildId);
    expect(listed).toMatchObject({ trigger: 'schedule', schedule: scheduleName });
    expect((await call('GET', `/builds/${encodeURIComponent(scheduledBuildId)}`)).body).toMatchObject({ trigger: 'schedule' });
  });
});
