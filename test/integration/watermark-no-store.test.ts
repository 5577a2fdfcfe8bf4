// Issue 14 item 1: a build given nextWatermark on a worker with no metadata database fails and
// says why, instead of running dbt over everything up to nextWatermark (it has no watermark to
// start from). The same build without nextWatermark still runs: the store stays optional.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBuild, waitForBuild } from '../../src/client.js';
import { buildWorkDir } from '../../src/dbt/invocation.js';
import { startOwnWorker, type OwnWorker } from '../support/own-worker.js';
import { copyShopProject, stack, uniqueName } from '../support/stack.js';

const taskQueue = uniqueName('no_store');
const projectDir = copyShopProject();
let own: OwnWorker;

beforeAll(async () => {
  // No `store`: this worker records nothing, like one run without DATABASE_URL.
  own = await startOwnWorker(taskQueue, { dbtEnv: { ...process.env, ...stack().dbtEnv }, dbtBin: stack().dbtBin, store: undefined });
});

afterAll(async () => {
  await own?.stop();
});

const build = async (input: { nextWatermark?: string; select?: string[] }) => {
  const buildId = uniqueName('b').replace(/_/g, '-');
  const { handle } = await startBuild(own.client, { projectDir, buildId, nodeRetries: 0, select: input.select ?? ['raw_customers'], nextWatermark: input.nextWatermark, vars: { schema: uniqueName('t') } }, { taskQueue });
  return { buildId, result: await waitForBuild(handle) };
};

describe('nextWatermark without a metadata database', () => {
  it('fails the build, naming nextWatermark and the missing database, with no dbt run', async () => {
    const { buildId, result } = await build({ nextWatermark: '2026-01-02' });
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/nextWatermark was given, but the build's watermark could not be read: no metadata database is configured/);
    // dbt build never started (only the plan was resolved): no attempt directory was made.
    expect(existsSync(buildWorkDir(projectDir, buildId))).toBe(true);
    expect(existsSync(path.join(buildWorkDir(projectDir, buildId), 'build-1'))).toBe(false);
  });

  it('still runs a build that asks for no watermark', async () => {
    const { result } = await build({});
    expect(result.ok).toBe(true);
    expect(result.progress?.nodes.map((n) => n.status)).toEqual(['success']);
  });
});
