// Issue 14 item 5: a build's plan is one payload in its history, under Temporal's 2 MB limit.
// A selection whose plan is larger fails at once, saying how large and what to do, before any
// consumer or dbt build starts; it does not retry its workflow task forever. The limit is set
// low on this file's own worker, so the shop project stands in for a huge one.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBuild, waitForBuild } from '../../src/client.js';
import { nodeGroupWorkflowId } from '../../src/contracts/names.js';
import { buildWorkDir } from '../../src/dbt/invocation.js';
import { startOwnWorker, type OwnWorker } from '../support/own-worker.js';
import { copyShopProject, stack, uniqueName } from '../support/stack.js';

const taskQueue = uniqueName('plan_limit');
const projectDir = copyShopProject();
/** The shop's plan of 15 nodes is some 10 KB of JSON; a plan of a few nodes fits in this. */
const MAX_PLAN_BYTES = 4_000;
let own: OwnWorker;

beforeAll(async () => {
  own = await startOwnWorker(taskQueue, { dbtEnv: { ...process.env, ...stack().dbtEnv }, dbtBin: stack().dbtBin, maxPlanBytes: MAX_PLAN_BYTES });
});

afterAll(async () => {
  await own?.stop();
});

const build = async (select?: string[]) => {
  const buildId = uniqueName('b').replace(/_/g, '-');
  const { handle } = await startBuild(own.client, { projectDir, buildId, nodeRetries: 0, select, vars: { schema: uniqueName('t') } }, { taskQueue });
  return { buildId, result: await waitForBuild(handle) };
};

describe('a plan over the payload limit', () => {
  it('fails the build at once, naming its size, the limit and the way out, with no consumer and no dbt build', async () => {
    const { buildId, result } = await build();
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/the selection is too large for one build: its plan of \d+ models, seeds and snapshots is [\d.]+ MiB, over the 0\.00 MiB a build may carry/);
    expect(result.error).toMatch(/split it into builds of fewer nodes with select\/exclude/);
    await expect(own.client.workflow.getHandle(nodeGroupWorkflowId(buildId, 1)).describe()).rejects.toThrow(/not found/i);
    expect(existsSync(path.join(buildWorkDir(projectDir, buildId), 'build-1'))).toBe(false);
  });

  it('still runs a selection whose plan fits', async () => {
    const { result } = await build(['raw_customers']);
    expect(result.error).toBeUndefined();
    expect(result.progress?.nodes.map((n) => n.status)).toEqual(['success']);
  });
});
