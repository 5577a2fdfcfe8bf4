// Overlapping builds of the same project and target: by default the second waits for the
// first (queue), or fails at once (reject); either way two dbt processes never write the same
// relations at the same time. A terminated build frees its target too.
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBuild, waitForBuild } from '../../src/client.js';
import type { BuildInputRaw } from '../../src/contracts/build-input.js';
import { connectTestClient, SHOP_PROJECT, stack, uniqueName } from '../support/stack.js';
import { dbtProcessesOf, progressOf, waitUntil } from './support/faults.js';

let client: Client;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ client, close } = await connectTestClient());
});
afterAll(async () => close());

async function start(input: Partial<BuildInputRaw>) {
  const buildId = uniqueName('overlap').replace(/_/g, '-');
  const { handle } = await startBuild(client, { projectDir: SHOP_PROJECT, buildId, nodeRetries: 0, ...input }, { taskQueue: stack().taskQueue });
  return { buildId, handle };
}

/** Sample, every 100 ms until `done`, whether both builds had dbt running at the same moment. */
function watchOverlap(a: string, b: string, done: Promise<unknown>): Promise<{ both: number; a: number; b: number }> {
  const seen = { both: 0, a: 0, b: 0 };
  let finished = false;
  void done.finally(() => (finished = true));
  return (async () => {
    while (!finished) {
      const [inA, inB] = [dbtProcessesOf(a).length > 0, dbtProcessesOf(b).length > 0];
      if (inA) seen.a++;
      if (inB) seen.b++;
      if (inA && inB) seen.both++;
      await new Promise((r) => setTimeout(r, 100));
    }
    return seen;
  })();
}

describe('two builds of the same project and target', () => {
  it('queue by default: the second waits, and their dbt processes never overlap', async () => {
    const schema = uniqueName('t');
    const first = await start({ vars: { schema, shop_sleep_seconds: 8 } });
    await waitUntil('the first build to run dbt', () => dbtProcessesOf(first.buildId).length > 0, 60_000);
    const second = await start({ vars: { schema } });
    await waitUntil('the second build to queue', async () => (await progressOf(client, second.buildId))?.phase === 'queued', 30_000);

    const both = Promise.all([waitForBuild(first.handle), waitForBuild(second.handle)]);
    const seen = await watchOverlap(first.buildId, second.buildId, both);
    const [r1, r2] = await both;
    expect(r1.ok).toBe(true);
    expect(r2.ok).toBe(true);
    expect(seen.a).toBeGreaterThan(0);
    expect(seen.b).toBeGreaterThan(0);
    expect(seen.both).toBe(0);
  });

  it('reject: the second fails at once, naming the build that holds the target', async () => {
    const schema = uniqueName('t');
    const first = await start({ vars: { schema, shop_sleep_seconds: 8 } });
    await waitUntil('the first build to run dbt', () => dbtProcessesOf(first.buildId).length > 0, 60_000);
    const second = await start({ vars: { schema }, overlap: 'reject' });
    const err = await second.handle.result().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('BuildOverlap');
    expect(cause.message).toContain('another build is running on');
    expect(dbtProcessesOf(second.buildId)).toEqual([]);
    expect((await waitForBuild(first.handle)).ok).toBe(true);
  });

  it('a terminated build frees its target for the next one, once its dbt has stopped', async () => {
    const schema = uniqueName('t');
    const first = await start({ vars: { schema, shop_sleep_seconds: 60 } });
    await waitUntil('the first build to run dbt', () => dbtProcessesOf(first.buildId).length > 0, 60_000);
    const second = await start({ vars: { schema } });
    await waitUntil('the second build to queue', async () => (await progressOf(client, second.buildId))?.phase === 'queued', 30_000);
    await first.handle.terminate('test: the holder is terminated');
    const done = waitForBuild(second.handle);
    const seen = await watchOverlap(first.buildId, second.buildId, done);
    const result = await done;
    expect(result.ok, JSON.stringify(result.error ?? result.progress?.nodes.filter((n) => n.status !== 'success'))).toBe(true);
    expect(seen.b).toBeGreaterThan(0);
    expect(seen.both).toBe(0);
    expect(dbtProcessesOf(first.buildId)).toEqual([]);
  }, 180_000);

  it('allow: builds that write different relations may run side by side', async () => {
    const a = await start({ vars: { schema: uniqueName('t'), shop_sleep_seconds: 5 }, overlap: 'allow' });
    const b = await start({ vars: { schema: uniqueName('t'), shop_sleep_seconds: 5 }, overlap: 'allow' });
    const both = Promise.all([waitForBuild(a.handle), waitForBuild(b.handle)]);
    const seen = await watchOverlap(a.buildId, b.buildId, both);
    const [ra, rb] = await both;
    expect(ra.ok && rb.ok).toBe(true);
    expect(seen.both).toBeGreaterThan(0);
  });
});
