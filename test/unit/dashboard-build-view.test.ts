// The build page's view of a build (src/dashboard/build-view.ts): recorded nodes and live
// ones merged, failures (tests once, under each model), order, progress and links.
import { describe, expect, it } from 'vitest';
import type { BuildDetail, NodeExecution } from '../../src/api-client.js';
import { consumerUrl, failuresOf, nodeViews, orderNodes, progressOf, rerunCommand } from '../../src/dashboard/build-view.js';

function execution(over: Partial<NodeExecution> & { pipeline: string }): NodeExecution {
  return { id: 1, parentId: 100, pipelineType: 'dbt_model', status: 'success', startDate: '2026-12-02T10:00:00.000Z', endDate: '2026-12-02T10:00:05.000Z', durationSeconds: 5, totalRows: 10, metadata: null, ...over };
}

function build(over: Partial<BuildDetail> = {}): BuildDetail {
  return {
    buildId: 'b1',
    workflowId: 'watcher/b1',
    runId: 'r1',
    executionId: 100,
    pipeline: 'dbt:shop:default:all',
    project: 'shop',
    status: 'running',
    startDate: '2026-12-02T10:00:00.000Z',
    endDate: null,
    durationSeconds: null,
    totalRows: null,
    nodeCounts: {},
    uiUrl: 'http://ui:8233/namespaces/default/workflows/watcher%2Fb1/r1/history',
    nodes: [],
    ...over,
  } as BuildDetail;
}

const failingTest = { unique_id: 'test.shop.assert_totals', status: 'fail', message: 'Got 1 result' };

describe('the build view', () => {
  it('takes recorded nodes from the store and the others from the live progress, running ones from when first seen', () => {
    const b = build({
      nodes: [{ ...execution({ pipeline: 'model.shop.a', metadata: { unique_id: 'model.shop.a', resource_type: 'model', thread: 'Thread-1' } }), reruns: [] }],
      progress: {
        buildId: 'b1',
        phase: 'building',
        counts: {},
        nodes: [
          { uniqueId: 'model.shop.a', resourceType: 'model', status: 'success' },
          { uniqueId: 'model.shop.b', resourceType: 'model', status: 'running' },
          { uniqueId: 'model.shop.c', resourceType: 'model', status: 'pending' },
        ],
      },
    } as Partial<BuildDetail>);
    const seen = new Map<string, number>();
    const first = nodeViews(b, seen, 1000);
    expect(first.map((n) => [n.uniqueId, n.status, n.thread, n.startMs, n.endMs])).toEqual([
      ['model.shop.a', 'success', 'Thread-1', Date.parse('2026-12-02T10:00:00.000Z'), Date.parse('2026-12-02T10:00:05.000Z')],
      ['model.shop.b', 'running', undefined, 1000, 1000],
      ['model.shop.c', 'pending', undefined, undefined, undefined],
    ]);
    // Later: the running node keeps its first-seen start and grows until now.
    const later = nodeViews(b, seen, 4000).find((n) => n.uniqueId === 'model.shop.b')!;
    expect([later.startMs, later.endMs]).toEqual([1000, 4000]);
    expect(progressOf(first)).toEqual({ done: 1, total: 3 });
  });

  it("counts a rerun as an attempt and shows the last attempt's status", () => {
    const node = { ...execution({ pipeline: 'model.shop.a', status: 'error', message: 'boom' }), reruns: [execution({ id: 2, pipeline: 'model.shop.a', status: 'success' })] };
    const [view] = nodeViews(build({ nodes: [node] }), new Map(), 0);
    expect([view!.status, view!.attempts, view!.executions.length]).toEqual(['success', 2, 2]);
  });

  it('lists failed nodes, then each failed test once under every model that reported it; failures sort first', () => {
    const meta = (id: string) => ({ unique_id: id, resource_type: 'model', tests: [failingTest, { unique_id: 'test.shop.ok', status: 'pass' }] });
    const b = build({
      nodes: [
        { ...execution({ pipeline: 'model.shop.ok', metadata: { unique_id: 'model.shop.ok' } }), reruns: [] },
        { ...execution({ pipeline: 'model.shop.x', status: 'fail', metadata: meta('model.shop.x') }), reruns: [] },
        { ...execution({ pipeline: 'model.shop.y', status: 'fail', metadata: meta('model.shop.y') }), reruns: [] },
        { ...execution({ pipeline: 'model.shop.broken', status: 'error', message: 'invalid input syntax', startDate: '2026-12-02T11:00:00.000Z' }), reruns: [] },
      ],
    });
    const views = nodeViews(b, new Map(), 0);
    expect(failuresOf(views).map((f) => [f.uniqueId, f.status, f.under, f.message])).toEqual([
      ['model.shop.x', 'fail', [], 'test.shop.assert_totals (fail): Got 1 result'],
      ['model.shop.y', 'fail', [], 'test.shop.assert_totals (fail): Got 1 result'],
      ['model.shop.broken', 'error', [], 'invalid input syntax'],
      ['test.shop.assert_totals', 'fail', ['model.shop.x', 'model.shop.y'], 'Got 1 result'],
    ]);
    expect(orderNodes(views).map((n) => n.uniqueId).at(-1)).toBe('model.shop.ok');
  });

  it('reruns a node alone by type, package and name, and links its consumer in the Temporal UI', () => {
    expect(rerunCommand('model.shop.stg_payments', 'model')).toBe('dbt build --select "resource_type:model,package:shop,fqn:stg_payments"');
    expect(rerunCommand('test.shop.unique_x_id.1a2b3c', 'test')).toBe('dbt build --select "resource_type:test,package:shop,fqn:unique_x_id"');
    expect(consumerUrl(build().uiUrl, 'watcher/b1', 'model.shop.a')).toBe('http://ui:8233/namespaces/default/workflows/watcher%2Fb1%2Fmodel.shop.a');
    expect(consumerUrl(undefined, 'watcher/b1', 'model.shop.a')).toBeUndefined();
  });
});
