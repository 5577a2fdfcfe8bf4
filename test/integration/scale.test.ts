// Scale: a generated project of 1,000 models (3,500+ dbt nodes with their tests and seeds)
// builds with one consumer per model and seed, sharded into node groups, and no workflow of
// the build comes near Temporal's limits (51,200 history events, 50 MB history, 2,000 pending
// children). Timings and memory are measured in bench/, not here.
import type { Client } from '@temporalio/client';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateProject, type GeneratedProject } from '../../bench/lib/generate-project.js';
import { startBuild, waitForBuild, type BuildResult } from '../../src/client.js';
import { buildWorkflowId, nodeGroupWorkflowId } from '../../src/contracts/names.js';
import { largestEventOf } from '../support/payloads.js';
import { connectTestClient, stack, uniqueName } from '../support/stack.js';

const MODELS = 1000;
const GROUP_SIZE = 500;
const HISTORY_EVENTS_LIMIT = 51_200;
const HISTORY_BYTES_LIMIT = 50 * 1024 * 1024;
/** Temporal's limit on one payload (blob): every input, result and signal must stay under it. */
const PAYLOAD_BYTES_LIMIT = 2 * 1024 * 1024;
/** 60 KiB of vars (of the 64 KiB the input allows; strings of at most 10,000): every consumer can rerun with them. */
const VARS_PADDING = Array.from({ length: 7 }, (_, i) => 'v'.repeat(i < 6 ? 10_000 : 60 * 1024 - 60_000));

let client: Client;
let close: () => Promise<void>;
let project: GeneratedProject;
let buildId: string;
let result: BuildResult;

beforeAll(async () => {
  ({ client, close } = await connectTestClient());
  project = generateProject(path.join(mkdtempSync(path.join(os.tmpdir(), 'watcher-scale-')), 'project'), {
    models: MODELS,
    testsPerModel: 2.5,
    seeds: 3,
    rows: 500,
  });
  buildId = uniqueName('scale').replace(/_/g, '-');
  const { handle } = await startBuild(
    client,
    { projectDir: project.dir, buildId, threads: 4, nodeRetries: 0, groupSize: GROUP_SIZE, vars: { schema: uniqueName('s'), padding: VARS_PADDING } },
    { taskQueue: stack().taskQueue },
  );
  result = await waitForBuild(handle);
}, 900_000);
afterAll(async () => close());

describe(`a build of ${MODELS} models`, () => {
  it('has 3,500+ dbt nodes, and every model and seed ends success with its tests', () => {
    expect(project.nodes).toBeGreaterThanOrEqual(3500);
    expect(result.error).toBeUndefined();
    expect(result.ok).toBe(true);
    const nodes = result.progress!.nodes;
    expect(nodes).toHaveLength(project.models + project.seeds);
    expect(nodes.filter((n) => n.status !== 'success').map((n) => `${n.uniqueId}: ${n.status}`)).toEqual([]);
    const testsReported = nodes.reduce((sum, n) => sum + (n.tests?.total ?? 0), 0);
    const withoutTests = nodes.filter((n) => n.resourceType === 'model' && !n.tests).map((n) => n.uniqueId);
    expect(testsReported, `models without tests: ${withoutTests.length} (${withoutTests.slice(0, 5).join(', ')})`).toBe(project.tests);
  });

  it('leaves one closed consumer per model and seed, found by WatcherBuildId', async () => {
    const query = `WatcherBuildId = '${buildId}'`;
    const total = await client.workflow.count(query);
    const completed = await client.workflow.count(`${query} AND ExecutionStatus = 'Completed'`);
    // The build itself carries WatcherBuildId too.
    expect(total.count).toBe(project.models + project.seeds + 1);
    expect(completed.count).toBe(total.count);
  });

  it('keeps the build and each node group far inside Temporal limits', async () => {
    const groups = Math.ceil((project.models + project.seeds) / GROUP_SIZE);
    const ids = [buildWorkflowId(buildId), ...Array.from({ length: groups }, (_, g) => nodeGroupWorkflowId(buildId, g + 1))];
    for (const id of ids) {
      const d = await client.workflow.getHandle(id).describe();
      expect(d.status.name, id).toBe('COMPLETED');
      expect(d.historyLength, id).toBeLessThan(HISTORY_EVENTS_LIMIT / 5);
      expect(d.historySize, id).toBeLessThan(HISTORY_BYTES_LIMIT / 5);
      const largest = await largestEventOf(client, id);
      console.log(`${id}: ${d.historyLength} events, ${((d.historySize ?? 0) / 1024).toFixed(0)} KiB, largest event ${(largest.bytes / 1024).toFixed(0)} KiB (${largest.eventType} #${largest.eventId})`);
      // Half of the payload limit at most: the margin for projects with more tests, meta and longer names.
      expect(largest.bytes, `${id}: ${largest.eventType} #${largest.eventId}`).toBeLessThan(PAYLOAD_BYTES_LIMIT / 2);
    }
    // No group beyond those: none held more than GROUP_SIZE consumers.
    await expect(client.workflow.getHandle(nodeGroupWorkflowId(buildId, groups + 1)).describe()).rejects.toThrow();
  });
});
