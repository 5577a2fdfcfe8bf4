// Fault: malformed input to dbtBuild, dbtNode and the CLI. Each gives a clear error naming the
// field, runs nothing (no activity, no child workflow, no dbt), and leaves nothing waiting.
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBuild } from '../../src/client.js';
import { BUILD_WORKFLOW_TYPE, NODE_WORKFLOW_TYPE } from '../../src/contracts/names.js';
import { InvalidInputError } from '../../src/contracts/validation.js';
import { PROJECT_ROOT } from '../../src/toolchain.js';
import { connectTestClient, SHOP_PROJECT, stack } from '../support/stack.js';

const run = promisify(execFile);
let client: Client;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ client, close } = await connectTestClient());
});
afterAll(async () => close());

const P = SHOP_PROJECT;
/** [what, input, the field the error must name] */
const BAD_BUILD_INPUTS: Array<[string, unknown, string]> = [
  ['null', null, '(input)'],
  ['an array', [], '(input)'],
  ['a string', 'examples/shop', '(input)'],
  ['no projectDir', {}, 'projectDir'],
  ['a number as projectDir', { projectDir: 42 }, 'projectDir'],
  ['a relative projectDir', { projectDir: 'examples/shop' }, 'projectDir'],
  ['an empty projectDir', { projectDir: '' }, 'projectDir'],
  ['a NUL byte in projectDir', { projectDir: '/tmp/x\u0000y' }, 'projectDir'],
  ['projectDir climbing above /', { projectDir: '/../../etc' }, 'projectDir'],
  ['a huge projectDir', { projectDir: `/${'a'.repeat(5000)}` }, 'projectDir'],
  ['profilesDir escaping the project', { projectDir: P, profilesDir: '../../../etc' }, 'profilesDir'],
  ['a shell command in select', { projectDir: P, select: 'stg_orders; rm -rf /' }, 'select'],
  ['command substitution in select', { projectDir: P, select: '$(reboot)' }, 'select'],
  ['backticks in select', { projectDir: P, select: '`id`' }, 'select'],
  ['a number among selectors', { projectDir: P, select: ['stg_orders', 42] }, 'select'],
  ['an empty selector list', { projectDir: P, select: [] }, 'select'],
  ['a huge selector', { projectDir: P, select: 'a'.repeat(2000) }, 'select'],
  ['SQL in exclude', { projectDir: P, exclude: "x' OR 1=1 --" }, 'exclude'],
  // Issue 14 item 3: a token dbt would read as an option, in each string field that reaches argv.
  ['a dbt option as select', { projectDir: P, select: '--target-path=/tmp/watcher-injected' }, 'select'],
  ['a dbt option in a select list', { projectDir: P, select: ['stg_orders', '--profiles-dir=/tmp/watcher-injected'] }, 'select[1]'],
  ['a dbt option inside a select union', { projectDir: P, select: 'stg_orders --full-refresh' }, 'select'],
  ['a dbt option as exclude', { projectDir: P, exclude: '--log-path=/tmp/watcher-injected' }, 'exclude'],
  ['a dbt option as target', { projectDir: P, target: '--target-path=/tmp/x' }, 'target'],
  ['a dbt option as selector', { projectDir: P, selector: '--vars' }, 'selector'],
  ['a YAML selector name with spaces', { projectDir: P, selector: 'my selector' }, 'selector'],
  ['SQL in target', { projectDir: P, target: 'prod; drop table users' }, 'target'],
  ['vars as a string', { projectDir: P, vars: '{schema: x}' }, 'vars'],
  ['a var name with a dash', { projectDir: P, vars: { 'bad-key': 1 } }, 'vars'],
  ['100 KiB of vars', { projectDir: P, vars: { big: 'x'.repeat(9000), b2: 'x'.repeat(9000), b3: 'x'.repeat(9000), b4: 'x'.repeat(9000), b5: 'x'.repeat(9000), b6: 'x'.repeat(9000), b7: 'x'.repeat(9000), b8: 'x'.repeat(9000) } }, 'vars'],
  ['threads as a string', { projectDir: P, threads: '4' }, 'threads'],
  ['zero threads', { projectDir: P, threads: 0 }, 'threads'],
  ['a thousand threads', { projectDir: P, threads: 1000 }, 'threads'],
  ['negative nodeRetries', { projectDir: P, nodeRetries: -1 }, 'nodeRetries'],
  ['failFast as a string', { projectDir: P, failFast: 'yes' }, 'failFast'],
  ['fullRefresh as a number', { projectDir: P, fullRefresh: 1 }, 'fullRefresh'],
  ['an unknown field', { projectDir: P, selcet: 'typo' }, 'selcet'],
  ['a slash in buildId', { projectDir: P, buildId: 'a/b' }, 'buildId'],
  ['an empty buildId', { projectDir: P, buildId: '' }, 'buildId'],
  ['an empty pipeline name', { projectDir: P, pipeline: '' }, 'pipeline'],
  ['a 100-character watermark', { projectDir: P, nextWatermark: 'w'.repeat(100) }, 'nextWatermark'],
  ['an unknown overlap policy', { projectDir: P, overlap: 'sometimes' }, 'overlap'],
  ['a zero retry delay', { projectDir: P, nodeRetryDelaySeconds: 0 }, 'nodeRetryDelaySeconds'],
];

const GOOD_NODE = {
  buildId: 'badinput',
  node: { uniqueId: 'model.shop.stg_orders', resourceType: 'model', name: 'stg_orders', packageName: 'shop', selector: 'shop.staging.stg_orders', upstream: [], tests: [] },
  rerun: { projectDir: P },
  waitTimeoutSeconds: 60,
};
const BAD_NODE_INPUTS: Array<[string, unknown, string]> = [
  ['nothing', {}, 'buildId'],
  ['SQL in the unique_id', { ...GOOD_NODE, node: { ...GOOD_NODE.node, uniqueId: "model.shop.x'; drop table y; --" } }, 'node.uniqueId'],
  ['a test as the node', { ...GOOD_NODE, node: { ...GOOD_NODE.node, resourceType: 'test' } }, 'node.resourceType'],
  ['a selector with a space', { ...GOOD_NODE, node: { ...GOOD_NODE.node, selector: 'stg_orders stg_payments' } }, 'node.selector'],
  ['a dbt option as the selector', { ...GOOD_NODE, node: { ...GOOD_NODE.node, selector: '--target-path=/tmp/watcher-injected' } }, 'node.selector'],
  ['a dbt option as the rerun target', { ...GOOD_NODE, rerun: { projectDir: P, target: '--full-refresh' } }, 'rerun.target'],
  ['a negative wait bound', { ...GOOD_NODE, waitTimeoutSeconds: -1 }, 'waitTimeoutSeconds'],
  ['a relative rerun projectDir', { ...GOOD_NODE, rerun: { projectDir: 'examples/shop' } }, 'rerun.projectDir'],
  ['an unknown field', { ...GOOD_NODE, extra: true }, 'extra'],
];

async function startRaw(type: string, input: unknown, i: number) {
  return client.workflow.start(type, { taskQueue: stack().taskQueue, workflowId: `badinput-${process.pid}-${type}-${i}`, args: [input] });
}

async function expectRejected(handle: Awaited<ReturnType<typeof startRaw>>, field: string) {
  const err = await handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  expect((cause as ApplicationFailure).type).toBe('InvalidInput');
  expect((cause as ApplicationFailure).nonRetryable).toBe(true);
  expect(cause!.message).toContain(field === '(input)' ? '(input):' : `${field}`);
  // It ran nothing: no activity, no child workflow.
  const history = await handle.fetchHistory();
  const ran = (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes || e.startChildWorkflowExecutionInitiatedEventAttributes);
  expect(ran).toEqual([]);
}

describe('malformed dbtBuild input', () => {
  it.each(BAD_BUILD_INPUTS.map((c, i) => [...c, i] as const))('refuses %s, naming %s', async (_what, input, field, i) => {
    await expectRejected(await startRaw(BUILD_WORKFLOW_TYPE, input, i), field);
    // The TypeScript client refuses it before anything starts.
    if (input && typeof input === 'object' && !Array.isArray(input)) {
      await expect(startBuild(client, input as never, { taskQueue: stack().taskQueue })).rejects.toBeInstanceOf(InvalidInputError);
    }
  });
});

describe('malformed dbtNode input', () => {
  it.each(BAD_NODE_INPUTS.map((c, i) => [...c, i] as const))('refuses %s, naming %s', async (_what, input, field, i) => {
    await expectRejected(await startRaw(NODE_WORKFLOW_TYPE, input, i), field);
  });
});

describe('malformed CLI input', () => {
  const cli = (...args: string[]) =>
    run(process.execPath, [path.join(PROJECT_ROOT, 'bin/watcher.js'), ...args], {
      env: { ...process.env, TEMPORAL_ADDRESS: stack().temporalAddress, TEMPORAL_NAMESPACE: stack().namespace, WATCHER_TASK_QUEUE: stack().taskQueue },
    }).then(
      (r) => ({ code: 0, stderr: r.stderr }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
  it.each([
    [['build', P, '--threads', 'four'], 'threads must be an integer'],
    [['build', P, '--vars', '{not json'], '--vars must be a JSON object'],
    [['build', P, '--vars', '[1, 2]'], '--vars must be a JSON object'],
    [['build', P, '--select', 'stg_orders;reboot', '--build-id', 'cli-bad-select'], 'select[0]: may only contain'],
    [['build', P, '--build-id', 'a/b'], 'buildId: must be'],
    [['build', P, '--node-retries', '-1', '--build-id', 'cli-bad-retries'], 'nodeRetries: must be at least 0'],
    [['runs', 'children', 'not-a-number'], 'execution id must be a positive integer'],
    [['runs', 'recent', 'model.shop.orders', '-n', 'abc'], '--limit must be an integer from 1 to 1000, not "abc"'],
    [['migrate', '--down', '0'], '--down must be an integer (1 or more), not "0"'],
    [['migrate', '--down', 'all'], '--down must be an integer (1 or more), not "all"'],
    [['migrate', '--down', '1'], 'add --yes to confirm'],
    [['serve', '--port', '70000'], '--port must be an integer from 0 to 65535'],
    [['monitor', 'install', '--retention-days', '1e3'], '--retention-days must be an integer, not "1e3"'],
  ])('`watcher %s` exits 1 naming the problem', async (args, message) => {
    const { code, stderr } = await cli(...args);
    expect(code).toBe(1);
    expect(stderr).toContain(message);
  });

  it('started no build for any of them', async () => {
    for (const id of ['cli-bad-select', 'cli-bad-retries']) {
      await expect(client.workflow.getHandle(`watcher/${id}`).describe()).rejects.toThrow(/not found/i);
    }
  });
});

describe('after all that', () => {
  it('nothing is left waiting', async () => {
    const running = [];
    for await (const wf of client.workflow.list({ query: `WorkflowId STARTS_WITH 'badinput-' AND ExecutionStatus = 'Running'` })) running.push(wf.workflowId);
    expect(running).toEqual([]);
  });
});
