// Determinism: the current workflow code replays recorded histories (committed fixtures from
// earlier builds) and the histories of builds run now, without a nondeterminism error.
// Set WATCHER_RECORD_HISTORIES=1 to refresh the fixtures from this run's builds.
import type { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeGroupWorkflowId } from '../../src/contracts/names.js';
import { PROJECT_ROOT } from '../../src/toolchain.js';
import { connectTestClient, exportHistory, runShopBuild, stack, targetGuardRunOf } from '../support/stack.js';

const FIXTURES = path.join(PROJECT_ROOT, 'test', 'fixtures', 'histories');

let client: Client;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ client, close } = await connectTestClient());
});
afterAll(async () => close());

async function replay(histories: Array<{ workflowId: string; history: unknown }>) {
  const failures: string[] = [];
  const results = Worker.runReplayHistories(
    { workflowBundle: { codePath: stack().bundlePath } },
    histories,
  );
  let count = 0;
  for await (const result of results) {
    count++;
    if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
  }
  return { count, failures };
}

describe('replay', () => {
  it('replays the committed histories of earlier builds', async () => {
    const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.json'));
    expect(files.length, `fixtures in ${FIXTURES}`).toBeGreaterThanOrEqual(4);
    const histories = files.map((f) => ({ workflowId: f.replace(/\.json$/, ''), history: JSON.parse(readFileSync(path.join(FIXTURES, f), 'utf8')) }));
    const { count, failures } = await replay(histories);
    expect(failures).toEqual([]);
    expect(count).toBe(files.length);
  });

  it("replays this run's builds: green, failed, with a warning", async () => {
    const builds = await Promise.all([
      runShopBuild(client),
      runShopBuild(client, { vars: { shop_break_model: true } }),
      runShopBuild(client, { vars: { shop_test_outcome: 'warn' } }),
    ]);
    const histories: Array<{ workflowId: string; history: unknown }> = [];
    for (const { buildId } of builds) {
      for await (const wf of client.workflow.list({ query: `WatcherBuildId = '${buildId}'` })) {
        histories.push({ workflowId: wf.workflowId, history: await exportHistory(wf.workflowId, wf.runId) });
      }
      // Node groups carry no search attributes of their own: look them up by ID.
      const groupId = nodeGroupWorkflowId(buildId, 1);
      const group = await client.workflow.getHandle(groupId).describe();
      histories.push({ workflowId: groupId, history: await exportHistory(groupId, group.runId) });
      // Nor does the target lock: the build's history names the run it started.
      const guard = await targetGuardRunOf(client, buildId);
      histories.push({ workflowId: guard.workflowId, history: await exportHistory(guard.workflowId, guard.runId) });
    }
    expect(histories.length).toBeGreaterThanOrEqual(3 * 12);
    const { count, failures } = await replay(histories);
    expect(failures).toEqual([]);
    expect(count).toBe(histories.length);

    if (process.env.WATCHER_RECORD_HISTORIES) {
      mkdirSync(FIXTURES, { recursive: true });
      const pick = (buildIdx: number, suffix: string) =>
        histories.find((h) => h.workflowId.startsWith(`watcher/${builds[buildIdx]!.buildId}`) && h.workflowId.endsWith(suffix))!;
      const keep = {
        'producer-green': pick(0, builds[0]!.buildId),
        'consumer-green-fct_orders': pick(0, 'model.shop.fct_orders'),
        'producer-failed': pick(1, builds[1]!.buildId),
        'consumer-error-stg_payments': pick(1, 'model.shop.stg_payments'),
        'consumer-skipped-fct_orders': pick(1, 'model.shop.fct_orders'),
        'consumer-warn-fct_orders': pick(2, 'model.shop.fct_orders'),
        'group-failed': pick(1, nodeGroupWorkflowId(builds[1]!.buildId, 1)),
      };
      for (const [name, h] of Object.entries(keep)) writeFileSync(path.join(FIXTURES, `${name}.json`), `${JSON.stringify(h.history)}\n`);
    }
  });
});
