// The helper the fault tests count reports with (reportSignalsOf) must see every run of a
// consumer: a report that reached a run that was then retried is a report too. (Issue 14,
// "Also": it read only the latest run, so a duplicate report across a retry went unseen.)
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeReportSignal } from '../../src/contracts/messages.js';
import { connectTestClient } from '../support/stack.js';
import { reportSignalsOf, waitUntil } from './support/faults.js';

let client: Client;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ client, close } = await connectTestClient());
});
afterAll(async () => close());

describe('reportSignalsOf', () => {
  it('counts the reports of every run of a workflow, not only the latest', async () => {
    // No worker polls this queue: each run times out after 2 s and is retried as a new run
    // (continuedExecutionRunId points back), which is all this needs.
    const workflowId = `report-signals-${process.pid}-${Date.now()}`;
    const handle = await client.workflow.start('noSuchWorkflowType', {
      taskQueue: `no-worker-${process.pid}`,
      workflowId,
      args: [],
      workflowRunTimeout: '2 seconds',
      retry: { maximumAttempts: 3, initialInterval: '1 second', backoffCoefficient: 1 },
    });
    try {
      const report = { uniqueId: 'model.shop.x' } as never;
      await client.workflow.getHandle(workflowId, handle.firstExecutionRunId).signal(nodeReportSignal, report);
      let second: string | undefined;
      await waitUntil('the first run to be retried', async () => {
        const { runId } = await client.workflow.getHandle(workflowId).describe();
        if (runId !== handle.firstExecutionRunId) second = runId;
        return second !== undefined;
      }, 30_000, 200);
      await client.workflow.getHandle(workflowId, second).signal(nodeReportSignal, report);
      expect(await reportSignalsOf(client, workflowId)).toBe(2);
    } finally {
      await client.workflow.getHandle(workflowId).terminate('test done').catch(() => undefined);
    }
  });
});
