// Issue 14 item 4: a build id names one build. Starting another build with the id of one that
// has ended is refused (its consumers' ids would be the earlier build's), by the CLI with a
// message that names buildId; the earlier build and its records stay as they were.
import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCommand } from '../../src/cli/build.js';
import { startBuild } from '../../src/client.js';
import { loadConfig } from '../../src/config.js';
import { buildWorkflowId } from '../../src/contracts/names.js';
import { connectTestClient, runShopBuild, SHOP_PROJECT, stack, uniqueName } from '../support/stack.js';

let client: Client;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ client, close } = await connectTestClient());
});
afterAll(async () => {
  await close?.();
});

describe('a reused build id', () => {
  it('is refused once its build has ended, by the client and by `watcher build`', async () => {
    const first = await runShopBuild(client, { select: ['raw_customers'] });
    expect(first.result.ok).toBe(true);
    const firstRun = (await client.workflow.getHandle(buildWorkflowId(first.buildId)).describe()).runId;

    const again = { projectDir: SHOP_PROJECT, buildId: first.buildId, select: ['raw_customers'], vars: { schema: uniqueName('t') } };
    await expect(startBuild(client, again, { taskQueue: stack().taskQueue })).rejects.toBeInstanceOf(WorkflowExecutionAlreadyStartedError);

    const errors: string[] = [];
    const originalError = console.error;
    console.error = (...args: unknown[]) => void errors.push(args.map(String).join(' '));
    let code: number;
    try {
      const config = loadConfig({ temporalAddress: stack().temporalAddress, namespace: stack().namespace, taskQueue: stack().taskQueue });
      code = await buildCommand(client, config, again, { progress: false, json: false, out: () => undefined });
    } finally {
      console.error = originalError;
    }
    expect(code).toBe(1);
    expect(errors.join('\n')).toContain(`buildId: build ${first.buildId} already exists`);
    // Nothing new ran under that id.
    expect((await client.workflow.getHandle(buildWorkflowId(first.buildId)).describe()).runId).toBe(firstRun);
  });
});
