// Issue 14 item 1 (leftover): a build queued behind another on the same target read its
// watermark when it started, before it held the target lock, so it processed the range the
// running build was processing again (the watermark before that build promoted its own). A build
// reads its watermark once it holds the lock, and the running build promotes its own before it
// lets the lock go; the range read is recorded on the queued build's own execution.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBuild, waitForBuild } from '../../src/client.js';
import type { BuildInputRaw } from '../../src/contracts/build-input.js';
import { buildWorkflowId } from '../../src/contracts/names.js';
import { createPool, type Pool } from '../../src/store/db.js';
import { buildExecution, currentWatermark } from '../../src/store/queries.js';
import { PROJECT_ROOT } from '../../src/toolchain.js';
import { progressOf, waitUntil } from '../faults/support/faults.js';
import { connectTestClient, exportHistory, readBuildRunResults, SHOP_PROJECT, stack, uniqueName } from '../support/stack.js';

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

async function start(input: Partial<BuildInputRaw>) {
  const buildId = uniqueName('wmq').replace(/_/g, '-');
  const { handle } = await startBuild(client, { projectDir: SHOP_PROJECT, buildId, nodeRetries: 0, ...input }, { taskQueue: stack().taskQueue });
  return { buildId, handle };
}

async function rangeOf(buildId: string): Promise<{ watermark: string | null; next_watermark: string | null }> {
  const root = await buildExecution(pool, buildId);
  if (!root) throw new Error(`build ${buildId} has no root execution`);
  return (await pool.query<{ watermark: string | null; next_watermark: string | null }>('SELECT watermark, next_watermark FROM pipeline_execution WHERE id = $1', [root.id])).rows[0]!;
}

describe('a build queued behind another of the same pipeline and target', () => {
  it("processes from the watermark the running build promoted, not the one before it", async () => {
    const pipeline = `wmq-${uniqueName('p')}`;
    const schema = uniqueName('t');
    const first = await start({ pipeline, nextWatermark: '2026-02-01', vars: { schema, shop_sleep_seconds: 8 } });
    await waitUntil('the first build to hold the target and run dbt', async () => (await progressOf(client, first.buildId))?.phase === 'building', 90_000);
    const second = await start({ pipeline, nextWatermark: '2026-02-02', vars: { schema } });
    await waitUntil('the second build to queue behind it', async () => (await progressOf(client, second.buildId))?.phase === 'queued', 60_000);

    const [r1, r2] = await Promise.all([waitForBuild(first.handle), waitForBuild(second.handle)]);
    if (process.env.WATCHER_RECORD_HISTORIES) {
      // The queued build's history, for test/integration/replay.test.ts.
      const runId = (await client.workflow.getHandle(buildWorkflowId(second.buildId)).describe()).runId;
      const history = await exportHistory(buildWorkflowId(second.buildId), runId);
      writeFileSync(path.join(PROJECT_ROOT, 'test', 'fixtures', 'histories', 'producer-watermark-queued.json'), `${JSON.stringify(history)}\n`);
    }
    expect(r1.ok).toBe(true);
    expect(r2.ok).toBe(true);
    // The first processed (null, 0201]; the second, queued meanwhile, (0201, 0202].
    expect((readBuildRunResults(first.buildId).args as { vars?: Record<string, unknown> }).vars).toMatchObject({ watcher_watermark: null, watcher_next_watermark: '2026-02-01' });
    expect((readBuildRunResults(second.buildId).args as { vars?: Record<string, unknown> }).vars).toMatchObject({ watcher_watermark: '2026-02-01', watcher_next_watermark: '2026-02-02' });
    // Each build's own execution records the range it processed, and the last one is promoted.
    expect(await rangeOf(first.buildId)).toEqual({ watermark: null, next_watermark: '2026-02-01' });
    expect(await rangeOf(second.buildId)).toEqual({ watermark: '2026-02-01', next_watermark: '2026-02-02' });
    expect(await currentWatermark(pool, pipeline)).toBe('2026-02-02');
  });
});
