// Overlapping builds of the same project and target: by default the second waits for the
// first (queue), or fails at once (reject); either way two dbt processes never write the same
// relations at the same time. A terminated build frees its target too.
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { targetKeyOf } from '../../src/dbt/target-key.js';
import { buildWorkDir } from '../../src/dbt/invocation.js';
import { startBuild, waitForBuild } from '../../src/client.js';
import type { BuildInputRaw } from '../../src/contracts/build-input.js';
import { connectTestClient, SHOP_PROJECT, stack, uniqueName } from '../support/stack.js';
import { dbtBuildProcessesOf, dbtProcessesOf, progressOf, waitUntil } from './support/faults.js';

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

/** Sample, every 100 ms until `done`, whether both builds had their `dbt build` running at the same moment. */
function watchOverlap(a: string, b: string, done: Promise<unknown>): Promise<{ both: number; a: number; b: number }> {
  const seen = { both: 0, a: 0, b: 0 };
  let finished = false;
  void done.finally(() => (finished = true));
  return (async () => {
    while (!finished) {
      const [inA, inB] = [dbtBuildProcessesOf(SHOP_PROJECT, a).length > 0, dbtBuildProcessesOf(SHOP_PROJECT, b).length > 0];
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
    await waitUntil('the first build to run dbt build (it holds the lock then)', () => dbtBuildProcessesOf(SHOP_PROJECT, first.buildId).length > 0, 60_000);
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
    await waitUntil('the first build to run dbt build (it holds the lock then)', () => dbtBuildProcessesOf(SHOP_PROJECT, first.buildId).length > 0, 60_000);
    const second = await start({ vars: { schema }, overlap: 'reject' });
    const err = await second.handle.result().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('BuildOverlap');
    expect(cause.message).toContain('another build is running on');
    // Its dbt runner (parsed and listed, never built) ends once the worker sees the build closed: within its 1 s check.
    await waitUntil('the rejected build to leave no dbt runner', () => dbtProcessesOf(second.buildId).length === 0, 5_000, 100);
    expect(dbtBuildProcessesOf(SHOP_PROJECT, second.buildId)).toEqual([]);
    expect((await waitForBuild(first.handle)).ok).toBe(true);
  });

  it('a terminated build frees its target for the next one, once its dbt has stopped', async () => {
    const schema = uniqueName('t');
    const first = await start({ vars: { schema, shop_sleep_seconds: 60 } });
    await waitUntil('the first build to run dbt build (it holds the lock then)', () => dbtBuildProcessesOf(SHOP_PROJECT, first.buildId).length > 0, 60_000);
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

  it('a dbt left writing the target by a dead build is stopped before the next build starts its own', async () => {
    // A stand-in for an orphaned dbt: a process in its own group, recorded as a locked build's dbt.
    const orphan = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
    const exited = new Promise<{ signal: NodeJS.Signals | null; atMs: number }>((resolve) => orphan.once('exit', (_code, signal) => resolve({ signal, atMs: Date.now() })));
    try {
      const stat = readFileSync(`/proc/${orphan.pid}/stat`, 'utf8');
      const startTicks = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
      const deadInvocation = path.join(buildWorkDir(SHOP_PROJECT, uniqueName('dead').replace(/_/g, '-')), 'build-1');
      mkdirSync(deadInvocation, { recursive: true });
      const record = { pid: orphan.pid, host: os.hostname(), startTicks, targetKey: targetKeyOf({ projectDir: SHOP_PROJECT }), locked: true };
      writeFileSync(path.join(deadInvocation, 'dbt.pid'), JSON.stringify(record));

      const build = await start({ vars: { schema: uniqueName('t') } });
      const result = await waitForBuild(build.handle);
      expect(result.ok).toBe(true);
      // SIGINT first (sleep dies of it): the orphan was stopped by the build, before its dbt started.
      const { signal, atMs } = await exited;
      expect(signal).toBe('SIGINT');
      const firstLine = readFileSync(path.join(buildWorkDir(SHOP_PROJECT, build.buildId), 'build-1', 'logs', 'dbt.log'), 'utf8').split('\n')[0]!;
      const dbtStartedAtMs = Date.parse((JSON.parse(firstLine) as { info: { ts: string } }).info.ts);
      expect(atMs).toBeLessThanOrEqual(dbtStartedAtMs);
    } finally {
      if (orphan.exitCode === null && orphan.signalCode === null) orphan.kill('SIGKILL');
    }
  });
});
