import { describe, expect, it } from 'vitest';
import type { NodeProgress } from '../../src/contracts/messages.js';
import { buildAlertsWorkflowId } from '../../src/contracts/names.js';
import type { Alert } from '../../src/monitoring/alerts.js';
import {
  BUILD_ALERT_LISTED_NODES,
  buildFailureAlerts,
  failedNodesOf,
  failedTestsOf,
  MAX_ALERT_MESSAGE,
  MAX_KEY,
  MAX_NODE_FAILED_ALERTS,
  rerunCommand,
  workflowUiUrl,
  type BuildAlertsInput,
} from '../../src/monitoring/build-alerts.js';
import { parseAlerts } from '../../src/monitoring/notifier.js';

const links = { uiUrl: 'http://localhost:8233/', namespace: 'default' };
const endedAt = '2026-12-02T12:00:00.000Z';

const progress: NodeProgress[] = [
  { uniqueId: 'seed.shop.raw_customers', resourceType: 'seed', status: 'success' },
  { uniqueId: 'model.shop.stg_customers', resourceType: 'model', status: 'error', attempt: 2, message: 'Database Error in model stg_customers\n  invalid input syntax for type integer: "x"' },
  { uniqueId: 'model.shop.fct_orders', resourceType: 'model', status: 'fail', attempt: 1, message: 'SELECT 300' },
  { uniqueId: 'model.shop.dim_customers', resourceType: 'model', status: 'skipped', message: 'skipped: upstream failed' },
  { uniqueId: 'model.shop.daily_revenue', resourceType: 'model', status: 'not_run' },
];
const planned = new Map(progress.map((n) => [n.uniqueId, { selector: n.uniqueId.replace(/^\w+\./, '') }]));
const failedTests = new Map([
  ['model.shop.fct_orders', failedTestsOf({ tests: [
    { uniqueId: 'test.shop.assert_order_totals', resourceType: 'test', status: 'fail', dbtStatus: 'fail', message: 'Got 1 result, configured to fail if != 0', source: 'event' },
    { uniqueId: 'test.shop.not_null_fct_orders_id', resourceType: 'test', status: 'pass', dbtStatus: 'pass', source: 'event' },
  ] })],
]);

function input(over: Partial<BuildAlertsInput> = {}): BuildAlertsInput {
  return {
    buildId: 'b-1',
    workflowId: 'watcher/b-1',
    runId: 'run-1',
    project: 'shop',
    target: 'dev',
    pipeline: 'dbt:shop:dev:all',
    status: 'error',
    nodes: progress.length,
    counts: { success: 1, error: 1, fail: 1, skipped: 1, not_run: 1 },
    ...failedNodesOf(progress, planned, failedTests),
    endedAt,
    ...over,
  };
}

describe('failedNodesOf', () => {
  it('keeps the nodes that failed themselves (error, fail), with selector, attempt and failed tests', () => {
    const { failedNodes, failedNodeCount } = failedNodesOf(progress, planned, failedTests);
    expect(failedNodeCount).toBe(2);
    expect(failedNodes).toEqual([
      { uniqueId: 'model.shop.stg_customers', resourceType: 'model', status: 'error', attempt: 2, message: progress[1]!.message, selector: 'shop.stg_customers' },
      {
        uniqueId: 'model.shop.fct_orders',
        resourceType: 'model',
        status: 'fail',
        attempt: 1,
        message: 'SELECT 300',
        selector: 'shop.fct_orders',
        failedTests: [{ uniqueId: 'test.shop.assert_order_totals', status: 'fail', message: 'Got 1 result, configured to fail if != 0' }],
      },
    ]);
  });

  it(`lists at most ${MAX_NODE_FAILED_ALERTS} nodes but counts them all, and cuts long messages`, () => {
    const many: NodeProgress[] = Array.from({ length: MAX_NODE_FAILED_ALERTS + 7 }, (_, i) => ({ uniqueId: `model.p.m${i}`, resourceType: 'model', status: 'error', message: 'x'.repeat(5000) }));
    const { failedNodes, failedNodeCount } = failedNodesOf(many, new Map(), new Map());
    expect(failedNodeCount).toBe(MAX_NODE_FAILED_ALERTS + 7);
    expect(failedNodes).toHaveLength(MAX_NODE_FAILED_ALERTS);
    expect(failedNodes[0]!.message).toHaveLength(MAX_ALERT_MESSAGE);
  });
});

describe('buildFailureAlerts', () => {
  const alerts = buildFailureAlerts(input(), links);
  const byKind = (kind: Alert['kind']) => alerts.filter((a) => a.kind === kind);

  it('sends nothing for a build that passed (success, warn) or was canceled', () => {
    for (const status of ['success', 'warn', 'canceled'] as const) expect(buildFailureAlerts(input({ status }), links)).toEqual([]);
  });

  it('one build_failed listing the failed nodes with status and dbt message, the counts, the build link; valid for the notifier', () => {
    expect(() => parseAlerts(alerts)).not.toThrow();
    const [build] = byKind('build_failed');
    expect(byKind('build_failed')).toHaveLength(1);
    expect(build).toMatchObject({
      level: 'error',
      title: 'Build failed: shop (target dev), build b-1',
      idempotencyKey: 'build_failed:watcher/b-1:run-1',
      occurredAt: endedAt,
      links: { temporal_ui: 'http://localhost:8233/namespaces/default/workflows/watcher%2Fb-1/run-1/history' },
      details: { build_id: 'b-1', project: 'shop', target: 'dev', pipeline: 'dbt:shop:dev:all', nodes: 5, failed_nodes: 2, skipped: 1, not_run: 1, failed: 'model.shop.stg_customers (error), model.shop.fct_orders (fail)' },
    });
    expect(build!.message.split('\n')).toEqual([
      'Build b-1 of shop (target dev) failed: 2 nodes of 5 failed (1 skipped, 1 not run).',
      '- model.shop.stg_customers (error): Database Error in model stg_customers invalid input syntax for type integer: "x"',
      '- model.shop.fct_orders (fail): test test.shop.assert_order_totals (fail): Got 1 result, configured to fail if != 0 [node: SELECT 300]',
    ]);
  });

  it('one node_failed per failed node, with its message, the rerun command and its consumer link', () => {
    const nodes = byKind('node_failed');
    expect(nodes.map((a) => a.idempotencyKey)).toEqual(['node_failed:watcher/b-1:run-1:model.shop.stg_customers', 'node_failed:watcher/b-1:run-1:model.shop.fct_orders']);
    expect(nodes[0]).toMatchObject({
      level: 'error',
      title: 'Node failed: model.shop.stg_customers (error)',
      details: { unique_id: 'model.shop.stg_customers', status: 'error', attempt: 2, build_id: 'b-1', rerun: 'dbt build --select shop.stg_customers --target dev' },
      links: {
        temporal_ui: 'http://localhost:8233/namespaces/default/workflows/watcher%2Fb-1%2Fmodel.shop.stg_customers',
        build: 'http://localhost:8233/namespaces/default/workflows/watcher%2Fb-1/run-1/history',
      },
    });
    expect(nodes[0]!.message).toBe(
      'model.shop.stg_customers ended error after 2 attempts in build b-1 of shop (target dev): Database Error in model stg_customers invalid input syntax for type integer: "x"\nRerun it: dbt build --select shop.stg_customers --target dev',
    );
    expect(nodes[1]!.details).toMatchObject({ failed_tests: 'test.shop.assert_order_totals (fail)', attempt: 1 });
    expect(nodes[1]!.message).toContain('Got 1 result, configured to fail if != 0');
  });

  it(`lists ${BUILD_ALERT_LISTED_NODES} nodes in build_failed, then "and N more"`, () => {
    const many: NodeProgress[] = Array.from({ length: 25 }, (_, i) => ({ uniqueId: `model.p.m${i}`, resourceType: 'model', status: 'error', message: `boom ${i}` }));
    const [build, ...nodes] = buildFailureAlerts(input({ nodes: 25, counts: { error: 25 }, ...failedNodesOf(many, new Map(), new Map()) }), links);
    expect(build!.message.split('\n')).toHaveLength(1 + BUILD_ALERT_LISTED_NODES + 1);
    expect(build!.message.endsWith('\nand 5 more')).toBe(true);
    expect(build!.details.failed).toMatch(/, and 5 more$/);
    expect(nodes).toHaveLength(25);
    expect(nodes[0]!.details.rerun).toBeUndefined(); // no selector known: no command
  });

  it('a build dbt could not run: its error, and no node alerts; no links without a UI URL', () => {
    const [build, ...rest] = buildFailureAlerts(
      input({ error: 'dbt exited 2: Parsing Error\n  bad yaml', counts: { not_run: 5 }, failedNodes: [], failedNodeCount: 0 }),
      { namespace: 'default' },
    );
    expect(rest).toEqual([]);
    expect(build!.links).toBeUndefined();
    expect(build!.message).toBe('Build b-1 of shop (target dev) failed: no node of 5 failed itself (5 not run).\ndbt: dbt exited 2: Parsing Error bad yaml');
    expect(build!.details.error).toBe('dbt exited 2: Parsing Error bad yaml');
    const early = buildFailureAlerts(input({ project: undefined, target: undefined, error: 'the selection matched nothing', nodes: 0, counts: {}, failedNodes: [], failedNodeCount: 0 }), links);
    expect(early[0]!.message).toBe('Build b-1 of dbt project (target default) failed: before any node ran.\ndbt: the selection matched nothing');
  });
});

describe('names and links', () => {
  it('the post-build workflow ID is deterministic per producer run', () => {
    expect(buildAlertsWorkflowId('b-1', 'run-1')).toBe('watcher-alerts/b-1/run-1');
  });
  it('a node_failed key stays within the notifier\'s 500 characters, distinct per node', () => {
    const long = (c: string): NodeProgress => ({ uniqueId: `model.p.${c.repeat(500)}`, resourceType: 'model', status: 'error' });
    const [, a, b] = buildFailureAlerts(input({ ...failedNodesOf([long('a'), long('b')], new Map(), new Map()) }), links);
    expect(a!.idempotencyKey).toHaveLength(MAX_KEY);
    expect(a!.idempotencyKey).not.toBe(b!.idempotencyKey);
    expect(() => parseAlerts([a, b])).not.toThrow();
  });
  it('UI links and rerun commands', () => {
    expect(workflowUiUrl('http://ui:8080', 'my ns', 'watcher/b')).toBe('http://ui:8080/namespaces/my%20ns/workflows/watcher%2Fb');
    expect(rerunCommand('shop.stg_orders')).toBe('dbt build --select shop.stg_orders');
  });
});
