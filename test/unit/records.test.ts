import { describe, expect, it } from 'vitest';
import type { DbtNodeResult, NodeOutcome, NodeProgress } from '../../src/contracts/messages.js';
import type { NodeStatus } from '../../src/contracts/status.js';
import {
  BUILD_PIPELINE_TYPE,
  buildExecutionKey,
  buildPipelineName,
  nodeExecutionKey,
  nodeExecutionRecordFromProgress,
  nodeExecutionRecords,
  nodePipelineType,
  rerunExecutionKey,
  type ExecutionRecord,
  type NodeRecordContext,
} from '../../src/recording/records.js';

const UID = 'model.shop.orders';
const BUILD_KEY = buildExecutionKey('watcher-build-42', 'run-abc');
const NODE_KEY = nodeExecutionKey(BUILD_KEY, UID);
const AT_MS = Date.UTC(2024, 5, 1, 12, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();

function ctx(extra: Partial<NodeRecordContext> = {}): NodeRecordContext {
  return { buildKey: BUILD_KEY, uniqueId: UID, resourceType: 'model', atMs: AT_MS, ...extra };
}

function result(extra: Partial<DbtNodeResult> = {}): DbtNodeResult {
  return { uniqueId: UID, resourceType: 'model', status: 'success', dbtStatus: 'success', source: 'event', ...extra };
}

function outcome(extra: Partial<NodeOutcome> = {}): NodeOutcome {
  return { uniqueId: UID, resourceType: 'model', status: 'success', attempt: 1, node: result(), tests: [], ...extra };
}

function only(records: ExecutionRecord[]): ExecutionRecord {
  expect(records).toHaveLength(1);
  return records[0]!;
}

describe('execution keys and pipeline types', () => {
  it('shapes the build, node and rerun keys so each nests inside the one before', () => {
    expect(BUILD_KEY).toBe('build:watcher-build-42:run-abc');
    expect(NODE_KEY).toBe('build:watcher-build-42:run-abc/node:model.shop.orders');
    expect(rerunExecutionKey(BUILD_KEY, UID, 2)).toBe('build:watcher-build-42:run-abc/node:model.shop.orders/attempt:2');
    expect(rerunExecutionKey(BUILD_KEY, UID, 2).startsWith(`${NODE_KEY}/`)).toBe(true);
  });

  it('gives different keys to different runs of the same workflow and to different attempts', () => {
    expect(buildExecutionKey('wf', 'run-1')).not.toBe(buildExecutionKey('wf', 'run-2'));
    expect(rerunExecutionKey(BUILD_KEY, UID, 2)).not.toBe(rerunExecutionKey(BUILD_KEY, UID, 3));
  });

  it('names node pipeline types dbt_<resource type>, and the build type dbt_build', () => {
    expect(nodePipelineType('model')).toBe('dbt_model');
    expect(nodePipelineType('seed')).toBe('dbt_seed');
    expect(nodePipelineType('snapshot')).toBe('dbt_snapshot');
    expect(BUILD_PIPELINE_TYPE).toBe('dbt_build');
  });
});

describe('buildPipelineName', () => {
  it('uses an explicit pipeline name as it is, whatever the selection', () => {
    expect(buildPipelineName({ pipeline: 'nightly-orders', target: 'prod', select: ['orders+'], exclude: ['x'], selector: 's' }, 'shop')).toBe('nightly-orders');
  });

  it('names a build with no selection dbt:<project>:<target or default>:all', () => {
    expect(buildPipelineName({}, 'shop')).toBe('dbt:shop:default:all');
    expect(buildPipelineName({ target: 'prod' }, 'shop')).toBe('dbt:shop:prod:all');
    expect(buildPipelineName({ select: [], exclude: [] }, 'shop')).toBe('dbt:shop:default:all');
  });

  it('names the select, exclude and selector parts in that order, joined by ";"', () => {
    expect(buildPipelineName({ select: ['stg_payments+'] }, 'shop')).toBe('dbt:shop:default:select=stg_payments+');
    expect(buildPipelineName({ select: ['+orders', 'customers+'] }, 'shop')).toBe('dbt:shop:default:select=+orders customers+');
    expect(buildPipelineName({ exclude: ['tag:slow'] }, 'shop')).toBe('dbt:shop:default:exclude=tag:slow');
    expect(buildPipelineName({ selector: 'nightly' }, 'shop')).toBe('dbt:shop:default:selector=nightly');
    expect(buildPipelineName({ target: 'dev', select: ['a', 'b'], exclude: ['c'], selector: 'nightly' }, 'shop')).toBe(
      'dbt:shop:dev:select=a b;exclude=c;selector=nightly',
    );
  });

  it('keeps a selection of ordinary length verbatim', () => {
    const select = Array.from({ length: 10 }, (_, i) => `model_${i}`);
    expect(buildPipelineName({ select }, 'shop')).toBe(`dbt:shop:default:select=${select.join(' ')}`);
  });

  describe('very long selections', () => {
    const many = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}_${String(i).padStart(3, '0')}`);
    const selectionOf = (name: string) => name.slice('dbt:shop:default:'.length);

    it('shortens the selection to a bounded length, starting with the selection and ending in a fingerprint', () => {
      const select = many('stg_model', 200);
      const name = buildPipelineName({ select }, 'shop');
      const selection = selectionOf(name);
      expect(name.startsWith('dbt:shop:default:select=stg_model_000 stg_model_001')).toBe(true);
      expect(selection.length).toBeLessThanOrEqual(160);
      expect(selection).toMatch(/#[0-9a-f]{8}$/);
      expect(name).not.toContain('stg_model_199');
    });

    it('bounds the name however long the selection gets', () => {
      const lengths = [50, 500, 5_000].map((n) => selectionOf(buildPipelineName({ select: many('m', n), exclude: many('x', n) }, 'shop')).length);
      for (const l of lengths) expect(l).toBeLessThanOrEqual(160);
    });

    it('gives the same name for the same selection every time', () => {
      const select = many('stg_model', 100);
      expect(buildPipelineName({ select: [...select] }, 'shop')).toBe(buildPipelineName({ select }, 'shop'));
    });

    it('gives different names to long selections that differ only after the kept prefix', () => {
      const base = many('stg_model', 100);
      const a = buildPipelineName({ select: [...base, 'last_a'] }, 'shop');
      const b = buildPipelineName({ select: [...base, 'last_b'] }, 'shop');
      const c = buildPipelineName({ select: base, exclude: ['tag:slow'] }, 'shop');
      const d = buildPipelineName({ select: base, selector: 'nightly' }, 'shop');
      expect(new Set([a, b, c, d]).size).toBe(4);
      // And they share the kept prefix: only the fingerprint tells them apart.
      expect(a.slice(0, 100)).toBe(b.slice(0, 100));
    });

    it('still includes the project and target in a shortened name', () => {
      expect(buildPipelineName({ target: 'prod', select: many('m', 300) }, 'shop').startsWith('dbt:shop:prod:select=')).toBe(true);
    });
  });
});

describe('nodeExecutionRecords: keys and hierarchy', () => {
  it('gives a first-attempt outcome one record keyed by the node key, child of the build', () => {
    const record = only(nodeExecutionRecords(ctx(), outcome()));
    expect(record.key).toBe(NODE_KEY);
    expect(record.parentKey).toBe(BUILD_KEY);
    expect(record.pipeline).toEqual({ name: UID, type: 'dbt_model' });
    expect(record.status).toBe('success');
    expect(record.promoteWatermark).toBeUndefined();
  });

  it('uses the context resource type for the pipeline type', () => {
    const record = only(nodeExecutionRecords(ctx({ resourceType: 'seed', uniqueId: 'seed.shop.raw' }), outcome({ uniqueId: 'seed.shop.raw', resourceType: 'seed' })));
    expect(record.pipeline).toEqual({ name: 'seed.shop.raw', type: 'dbt_seed' });
  });

  it('records a rerun as a child of the node execution: attempt 1 error, attempt 2 success', () => {
    const first = outcome({ status: 'error', attempt: 1, node: result({ status: 'error', dbtStatus: 'error', message: 'boom' }), invocationId: 'inv-1' });
    const second = outcome({
      status: 'success',
      attempt: 2,
      invocationId: 'inv-2',
      rerun: { invocationId: 'inv-2', nodesRun: [UID] },
      previousAttempts: [first],
    });
    const records = nodeExecutionRecords(ctx(), second);
    expect(records).toHaveLength(2);
    const [build, rerun] = records as [ExecutionRecord, ExecutionRecord];
    expect(build).toMatchObject({ key: NODE_KEY, parentKey: BUILD_KEY, status: 'error' });
    expect(build.metadata).toMatchObject({ attempt: 1, invocation_id: 'inv-1', message: 'boom' });
    expect(rerun).toMatchObject({ key: rerunExecutionKey(BUILD_KEY, UID, 2), parentKey: NODE_KEY, status: 'success' });
    expect(rerun.metadata).toMatchObject({ attempt: 2, invocation_id: 'inv-2', nodes_run: [UID] });
    expect(rerun.pipeline).toEqual(build.pipeline);
  });

  it('makes every later attempt a child of the node execution (not of the previous rerun), oldest first', () => {
    const a1 = outcome({ status: 'error', attempt: 1 });
    const a2 = outcome({ status: 'error', attempt: 2 });
    const a3 = outcome({ status: 'success', attempt: 3, previousAttempts: [a1, a2] });
    const records = nodeExecutionRecords(ctx(), a3);
    expect(records.map((r) => [r.key, r.parentKey, r.status])).toEqual([
      [NODE_KEY, BUILD_KEY, 'error'],
      [rerunExecutionKey(BUILD_KEY, UID, 2), NODE_KEY, 'error'],
      [rerunExecutionKey(BUILD_KEY, UID, 3), NODE_KEY, 'success'],
    ]);
    expect(new Set(records.map((r) => r.key)).size).toBe(3);
  });

  it("marks each attempt a timeliness timer watched (its late end is logged when recorded), and only those", () => {
    const a1 = outcome({ status: 'error', attempt: 1, timelinessWatched: true });
    const a2 = outcome({ status: 'success', attempt: 2, previousAttempts: [a1] });
    expect(nodeExecutionRecords(ctx(), a2).map((r) => [r.key, r.timelinessWatched])).toEqual([
      [NODE_KEY, true],
      [rerunExecutionKey(BUILD_KEY, UID, 2), undefined],
    ]);
  });

  it('records a pending outcome as not_run and keeps every other status', () => {
    expect(only(nodeExecutionRecords(ctx(), outcome({ status: 'pending' }))).status).toBe('not_run');
    for (const status of ['success', 'warn', 'error', 'fail', 'skipped', 'not_run', 'canceled'] as NodeStatus[]) {
      expect(only(nodeExecutionRecords(ctx(), outcome({ status }))).status).toBe(status);
    }
  });

  it('is deterministic: the same inputs give equal records', () => {
    const o = outcome({ node: result({ rowsAffected: 3, adapterCode: 'INSERT' }), previousAttempts: [outcome({ attempt: 1 })], attempt: 2 });
    expect(nodeExecutionRecords(ctx(), o)).toEqual(nodeExecutionRecords(ctx(), o));
  });
});

describe('nodeExecutionRecords: row counts from the adapter code', () => {
  const countsOf = (node: Partial<DbtNodeResult>) => {
    const r = only(nodeExecutionRecords(ctx(), outcome({ node: result(node) })));
    return { inserts: r.inserts, updates: r.updates, softDeletes: r.softDeletes, totalRows: r.totalRows };
  };

  it.each(['INSERT', 'SELECT', 'COPY', 'insert', 'INSERT 0 12'])('counts %j rows as inserts and total rows', (adapterCode) => {
    expect(countsOf({ adapterCode, rowsAffected: 12 })).toEqual({ inserts: 12, updates: undefined, softDeletes: undefined, totalRows: 12 });
  });

  it.each(['UPDATE', 'MERGE', 'merge'])('counts %j rows as updates, not inserts or deletes', (adapterCode) => {
    const counts = countsOf({ adapterCode, rowsAffected: 7 });
    expect(counts.updates).toBe(7);
    expect(counts.inserts).toBeUndefined();
    expect(counts.softDeletes).toBeUndefined();
  });

  it('counts DELETE rows as soft deletes, not inserts or updates', () => {
    const counts = countsOf({ adapterCode: 'DELETE', rowsAffected: 4 });
    expect(counts.softDeletes).toBe(4);
    expect(counts.inserts).toBeUndefined();
    expect(counts.updates).toBeUndefined();
  });

  it.each([undefined, 'SUCCESS', 'OK', ''])('counts rows with an unknown adapter code (%j) as total rows only', (adapterCode) => {
    expect(countsOf({ adapterCode, rowsAffected: 9 })).toEqual({ inserts: undefined, updates: undefined, softDeletes: undefined, totalRows: 9 });
  });

  it('counts rows of a CREATE VIEW as total rows only: creating a view inserts nothing', () => {
    expect(countsOf({ adapterCode: 'CREATE VIEW', rowsAffected: 5 })).toEqual({ inserts: undefined, updates: undefined, softDeletes: undefined, totalRows: 5 });
  });

  it('keeps zero as a real count', () => {
    expect(countsOf({ adapterCode: 'INSERT', rowsAffected: 0 })).toEqual({ inserts: 0, updates: undefined, softDeletes: undefined, totalRows: 0 });
  });

  it.each(['INSERT', 'UPDATE', 'DELETE', 'CREATE VIEW', undefined])('sets no counts at all when dbt reported no rows (code %j)', (adapterCode) => {
    const record = only(nodeExecutionRecords(ctx(), outcome({ node: result({ adapterCode }) })));
    expect(record).not.toHaveProperty('inserts');
    expect(record).not.toHaveProperty('updates');
    expect(record).not.toHaveProperty('softDeletes');
    expect(record).not.toHaveProperty('totalRows');
  });

  it('takes each attempt\'s counts from its own result', () => {
    const first = outcome({ attempt: 1, status: 'error', node: result({ status: 'error' }) });
    const second = outcome({ attempt: 2, node: result({ adapterCode: 'INSERT', rowsAffected: 3 }), previousAttempts: [first] });
    const [a, b] = nodeExecutionRecords(ctx(), second) as [ExecutionRecord, ExecutionRecord];
    expect(a.inserts).toBeUndefined();
    expect(b.inserts).toBe(3);
  });
});

describe('nodeExecutionRecords: start and end dates', () => {
  const START = '2024-06-01T11:00:00.000Z';
  const END = '2024-06-01T11:00:05.000Z';
  const datesOf = (node: Partial<DbtNodeResult>, extra: Partial<NodeOutcome> = {}) => {
    const r = only(nodeExecutionRecords(ctx(), outcome({ node: result(node), ...extra })));
    return [r.startDate, r.endDate];
  };

  it('uses dbt\'s own startedAt and finishedAt when it gave both', () => {
    expect(datesOf({ startedAt: START, finishedAt: END }, { reportCompletedAtMs: AT_MS })).toEqual([START, END]);
  });

  it('falls back to when the report completed, then to ctx.atMs, when dbt gave no timestamps', () => {
    const reported = Date.UTC(2024, 5, 1, 11, 30);
    expect(datesOf({}, { reportCompletedAtMs: reported })).toEqual([iso(reported), iso(reported)]);
    expect(datesOf({})).toEqual([iso(AT_MS), iso(AT_MS)]);
  });

  it('starts at finishedAt when only finishedAt is known', () => {
    expect(datesOf({ finishedAt: END })).toEqual([END, END]);
  });

  it('ends at the fallback when only startedAt is known and the fallback is later', () => {
    expect(datesOf({ startedAt: START })).toEqual([START, iso(AT_MS)]);
  });

  it('never ends before it starts: a fallback earlier than startedAt ends at startedAt', () => {
    const early = Date.UTC(2024, 5, 1, 10, 0);
    expect(datesOf({ startedAt: START }, { reportCompletedAtMs: early })).toEqual([START, START]);
  });

  it('never ends before it starts: finishedAt earlier than startedAt ends at startedAt', () => {
    expect(datesOf({ startedAt: END, finishedAt: START })).toEqual([END, END]);
  });

  it('gives each attempt its own dates from its own result and report time', () => {
    const t1 = Date.UTC(2024, 5, 1, 11, 0);
    const t2 = Date.UTC(2024, 5, 1, 11, 10);
    const first = outcome({ attempt: 1, status: 'error', reportCompletedAtMs: t1 });
    const second = outcome({ attempt: 2, node: result({ startedAt: START, finishedAt: END }), reportCompletedAtMs: t2, previousAttempts: [first] });
    const [a, b] = nodeExecutionRecords(ctx(), second) as [ExecutionRecord, ExecutionRecord];
    expect([a.startDate, a.endDate]).toEqual([iso(t1), iso(t1)]);
    expect([b.startDate, b.endDate]).toEqual([START, END]);
  });

  it('always gives ISO timestamps with end >= start', () => {
    const cases: Partial<DbtNodeResult>[] = [{}, { startedAt: START }, { finishedAt: END }, { startedAt: START, finishedAt: END }, { startedAt: END, finishedAt: START }];
    for (const node of cases) {
      for (const reportCompletedAtMs of [undefined, Date.UTC(2024, 0, 1), Date.UTC(2025, 0, 1)]) {
        const [start, end] = datesOf(node, { reportCompletedAtMs });
        expect(Number.isNaN(Date.parse(start!))).toBe(false);
        expect(Date.parse(end!)).toBeGreaterThanOrEqual(Date.parse(start!));
      }
    }
  });
});

describe('nodeExecutionRecords: metadata', () => {
  it('carries the node\'s dbt details, its tests, the attempt and the invocation id', () => {
    const node = result({
      dbtStatus: 'success',
      message: 'INSERT 0 12',
      relation: '"shop"."main"."orders"',
      materialized: 'incremental',
      queryId: 'q-1',
      thread: 'Thread-1',
      adapterCode: 'INSERT',
      rowsAffected: 12,
      executionTimeSeconds: 1.25,
    });
    const tests: DbtNodeResult[] = [
      { uniqueId: 'test.shop.not_null_orders_id', resourceType: 'test', status: 'pass', dbtStatus: 'pass', failures: 0, source: 'event' },
      { uniqueId: 'test.shop.unique_orders_id', resourceType: 'test', status: 'fail', dbtStatus: 'fail', failures: 3, message: 'Got 3 results', source: 'run_results' },
    ];
    const record = only(nodeExecutionRecords(ctx(), outcome({ node, tests, invocationId: 'inv-9' })));
    expect(record.metadata).toMatchObject({
      unique_id: UID,
      resource_type: 'model',
      dbt_status: 'success',
      relation: '"shop"."main"."orders"',
      materialization: 'incremental',
      message: 'INSERT 0 12',
      query_id: 'q-1',
      thread: 'Thread-1',
      adapter_code: 'INSERT',
      execution_time_seconds: 1.25,
      attempt: 1,
      invocation_id: 'inv-9',
      tests: [
        { unique_id: 'test.shop.not_null_orders_id', status: 'pass', failures: 0, message: undefined },
        { unique_id: 'test.shop.unique_orders_id', status: 'fail', failures: 3, message: 'Got 3 results' },
      ],
    });
  });

  it('has an empty tests list for a node without tests', () => {
    expect(only(nodeExecutionRecords(ctx(), outcome())).metadata?.tests).toEqual([]);
  });

  it('marks every record active:false when the node config says active: false', () => {
    const o = outcome({ attempt: 2, previousAttempts: [outcome({ attempt: 1, status: 'error' })] });
    const records = nodeExecutionRecords(ctx({ config: { active: false } }), o);
    expect(records).toHaveLength(2);
    for (const r of records) expect(r.metadata?.active).toBe(false);
  });

  it.each([undefined, {}, { active: true }])('does not set active in metadata when the config is %j', (config) => {
    const record = only(nodeExecutionRecords(ctx({ config }), outcome()));
    expect(record.metadata).not.toHaveProperty('active');
  });
});

describe('nodeExecutionRecordFromProgress', () => {
  const progress = (status: NodeStatus, extra: Partial<NodeProgress> = {}): NodeProgress => ({ uniqueId: UID, resourceType: 'model', status, ...extra });

  it.each<[NodeStatus, string]>([
    ['pending', 'not_run'],
    ['running', 'not_run'],
    ['canceled', 'canceled'],
    ['error', 'error'],
    ['not_run', 'not_run'],
    ['skipped', 'skipped'],
  ])('records progress status %j as %j', (status, expected) => {
    expect(nodeExecutionRecordFromProgress(ctx(), progress(status)).status).toBe(expected);
  });

  it('is the node execution (child of the build), starting and ending at ctx.atMs', () => {
    const record = nodeExecutionRecordFromProgress(ctx(), progress('canceled', { message: 'build canceled', failureType: 'NodeCanceled' }));
    expect(record).toEqual({
      key: NODE_KEY,
      parentKey: BUILD_KEY,
      pipeline: { name: UID, type: 'dbt_model' },
      status: 'canceled',
      startDate: iso(AT_MS),
      endDate: iso(AT_MS),
      metadata: { unique_id: UID, resource_type: 'model', message: 'build canceled', failure_type: 'NodeCanceled' },
    });
  });

  it('uses the same key as the outcome record would, so the two can never both be stored', () => {
    expect(nodeExecutionRecordFromProgress(ctx(), progress('running')).key).toBe(only(nodeExecutionRecords(ctx(), outcome())).key);
  });

  it('marks active:false only when the node config says so', () => {
    expect(nodeExecutionRecordFromProgress(ctx({ config: { active: false } }), progress('pending')).metadata?.active).toBe(false);
    expect(nodeExecutionRecordFromProgress(ctx({ config: { active: true } }), progress('pending')).metadata).not.toHaveProperty('active');
    expect(nodeExecutionRecordFromProgress(ctx(), progress('pending')).metadata).not.toHaveProperty('active');
  });
});
