import { describe, expect, it } from 'vitest';
import type { RunResultEntry } from '../../src/dbt/artifacts.js';
import { parseDbtLogLine, type DbtEvent } from '../../src/dbt/events.js';
import { EventTranslator, missingResult, resultFromEvent, resultFromRunResult, utcTimestamp } from '../../src/dbt/translate.js';

function line(name: string, data: Record<string, unknown>, msg = '', ts = '2024-05-01T12:00:09.000000Z'): string {
  return JSON.stringify({
    data,
    info: { category: '', code: 'Q025', extra: {}, invocation_id: 'inv-1', level: 'debug', msg, name, pid: 1, thread: 'Thread-1', ts },
  });
}

function event(name: string, data: Record<string, unknown>, msg = '', ts?: string): DbtEvent {
  const parsed = parseDbtLogLine(line(name, data, msg, ts));
  if (!parsed) throw new Error('not parsed');
  return parsed;
}

function nodeInfo(uniqueId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    materialized: 'table',
    meta: {},
    node_finished_at: '2024-05-01T12:00:01.234567',
    node_name: uniqueId.split('.').pop(),
    node_path: 'x.sql',
    node_relation: { alias: 'orders', database: 'shop', relation_name: '"shop"."analytics"."orders"', schema: 'analytics' },
    node_started_at: '2024-05-01T12:00:00.123456',
    node_status: 'success',
    resource_type: uniqueId.split('.')[0],
    unique_id: uniqueId,
    ...extra,
  };
}

function runResult(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    adapter_response: { _message: 'SELECT 42', code: 'SELECT', rows_affected: 42 },
    execution_time: 1.25,
    message: 'SELECT 42',
    num_failures: 0,
    status: 'success',
    thread: 'Thread-1 (worker)',
    timing_info: [],
    ...extra,
  };
}

function finished(uniqueId: string, rr: Record<string, unknown> = {}, info: Record<string, unknown> = {}): DbtEvent {
  return event('NodeFinished', { node_info: nodeInfo(uniqueId, info), run_result: runResult(rr) }, `Finished running node ${uniqueId}`);
}

describe('utcTimestamp', () => {
  it.each([
    ['2024-05-01T12:00:00.123456', '2024-05-01T12:00:00.123456Z'],
    ['2024-05-01T12:00:00', '2024-05-01T12:00:00Z'],
    ['2024-05-01T12:00:00Z', '2024-05-01T12:00:00Z'],
    ['2024-05-01T12:00:00.5z', '2024-05-01T12:00:00.5z'],
    ['2024-05-01T12:00:00+02:00', '2024-05-01T12:00:00+02:00'],
    ['2024-05-01T12:00:00-0530', '2024-05-01T12:00:00-0530'],
  ])('%j -> %j', (input, expected) => {
    expect(utcTimestamp(input)).toBe(expected);
  });

  it('is undefined for empty, null and undefined', () => {
    expect(utcTimestamp('')).toBeUndefined();
    expect(utcTimestamp(null)).toBeUndefined();
    expect(utcTimestamp(undefined)).toBeUndefined();
  });

  it('makes naive timestamps parse as UTC', () => {
    expect(new Date(utcTimestamp('2024-05-01T12:00:00.123456')!).toISOString()).toBe('2024-05-01T12:00:00.123Z');
  });
});

describe('resultFromEvent', () => {
  it('translates a successful model', () => {
    expect(resultFromEvent(finished('model.shop.orders'))).toEqual({
      uniqueId: 'model.shop.orders',
      resourceType: 'model',
      status: 'success',
      dbtStatus: 'success',
      message: 'SELECT 42',
      startedAt: '2024-05-01T12:00:00.123456Z',
      finishedAt: '2024-05-01T12:00:01.234567Z',
      executionTimeSeconds: 1.25,
      rowsAffected: 42,
      adapterCode: 'SELECT',
      failures: undefined,
      thread: 'Thread-1 (worker)',
      relation: 'shop.analytics.orders',
      materialized: 'table',
      source: 'event',
    });
  });

  it('drops rows_affected -1.0 (Postgres DDL), which means unknown', () => {
    const ev = parseDbtLogLine(
      line('NodeFinished', { node_info: nodeInfo('model.shop.v'), run_result: runResult() }).replace('"rows_affected":42', '"rows_affected":-1.0'),
    )!;
    expect(ev.data.run_result).toMatchObject({ adapter_response: { rows_affected: -1 } });
    const result = resultFromEvent(ev)!;
    expect(result.rowsAffected).toBeUndefined();
    expect('rowsAffected' in result).toBe(false);
  });

  it('rounds float row counts and ignores non-numeric ones', () => {
    expect(resultFromEvent(finished('model.shop.a', { adapter_response: { rows_affected: 42.0 } }))!.rowsAffected).toBe(42);
    expect(resultFromEvent(finished('model.shop.a', { adapter_response: { rows_affected: 3.6 } }))!.rowsAffected).toBe(4);
    expect(resultFromEvent(finished('model.shop.a', { adapter_response: { rows_affected: 0 } }))!.rowsAffected).toBe(0);
    expect(resultFromEvent(finished('model.shop.a', { adapter_response: { rows_affected: '12' } }))!.rowsAffected).toBeUndefined();
    expect(resultFromEvent(finished('model.shop.a', { adapter_response: {} }))!.rowsAffected).toBeUndefined();
  });

  it('keeps a query id and ignores an empty one', () => {
    expect(resultFromEvent(finished('model.shop.a', { adapter_response: { query_id: 'q-1' } }))!.queryId).toBe('q-1');
    expect(resultFromEvent(finished('model.shop.a', { adapter_response: { query_id: '' } }))!.queryId).toBeUndefined();
  });

  it('translates a failing test with num_failures', () => {
    const result = resultFromEvent(
      finished('test.shop.not_null_orders_id.1a2b', { status: 'fail', num_failures: 3, message: 'Got 3 results, configured to fail if != 0' }),
    )!;
    expect(result).toMatchObject({
      uniqueId: 'test.shop.not_null_orders_id.1a2b',
      resourceType: 'test',
      status: 'fail',
      dbtStatus: 'fail',
      failures: 3,
      message: 'Got 3 results, configured to fail if != 0',
    });
  });

  it('leaves failures undefined for zero failures', () => {
    expect(resultFromEvent(finished('test.shop.t', { status: 'pass', num_failures: 0 }))!.failures).toBeUndefined();
  });

  it("turns an empty message and an empty thread into undefined, not ''", () => {
    const result = resultFromEvent(finished('model.shop.a', { message: '', thread: '' }))!;
    expect(result.message).toBeUndefined();
    expect(result.thread).toBeUndefined();
  });

  it('normalises the status with the message (fail-fast skip is not_run)', () => {
    expect(resultFromEvent(finished('model.shop.a', { status: 'skipped', message: 'Skipping due to fail_fast' }))!.status).toBe('not_run');
    expect(resultFromEvent(finished('model.shop.a', { status: 'skipped', message: '' }))!.status).toBe('skipped');
    expect(resultFromEvent(finished('model.shop.a', { status: 'no-op' }))).toMatchObject({ status: 'success', dbtStatus: 'no-op' });
  });

  it('derives the resource type from the unique_id when node_info has none', () => {
    expect(resultFromEvent(finished('snapshot.shop.snap', {}, { resource_type: undefined }))!.resourceType).toBe('snapshot');
  });

  it('uses the event timestamp when the node has no finish time', () => {
    const result = resultFromEvent(finished('model.shop.a', {}, { node_finished_at: '', node_started_at: '' }))!;
    expect(result.startedAt).toBeUndefined();
    expect(result.finishedAt).toBe('2024-05-01T12:00:09.000000Z');
  });

  it('strips the quotes of the relation and leaves materialized out when empty', () => {
    const result = resultFromEvent(finished('seed.shop.raw', {}, { materialized: '', node_relation: { relation_name: '"db"."sch"."raw"' } }))!;
    expect(result.relation).toBe('db.sch.raw');
    expect(result.materialized).toBeUndefined();
  });

  it('is undefined for an event without node_info', () => {
    expect(resultFromEvent(event('NodeFinished', { run_result: runResult() }))).toBeUndefined();
  });

  it('reports an error with the event message when there is no run_result', () => {
    const result = resultFromEvent(event('NodeFinished', { node_info: nodeInfo('model.shop.a') }, 'it broke'))!;
    expect(result).toMatchObject({ status: 'error', dbtStatus: 'error', message: 'it broke', executionTimeSeconds: undefined });
  });
});

describe('resultFromRunResult', () => {
  const entry = (extra: Partial<RunResultEntry> = {}): RunResultEntry => ({
    unique_id: 'model.shop.orders',
    status: 'success',
    message: 'SELECT 7',
    failures: null,
    thread_id: 'Thread-2 (worker)',
    execution_time: 0.5,
    timing: [
      { name: 'compile', started_at: '2024-05-01T12:00:00.000000Z', completed_at: '2024-05-01T12:00:00.100000Z' },
      { name: 'execute', started_at: '2024-05-01T12:00:00.100000', completed_at: '2024-05-01T12:00:00.600000' },
    ],
    adapter_response: { rows_affected: 7 },
    relation_name: '"shop"."analytics"."orders"',
    ...extra,
  });

  it('translates an entry, timed by its execute phase', () => {
    expect(resultFromRunResult(entry())).toEqual({
      uniqueId: 'model.shop.orders',
      resourceType: 'model',
      status: 'success',
      dbtStatus: 'success',
      message: 'SELECT 7',
      startedAt: '2024-05-01T12:00:00.100000Z',
      finishedAt: '2024-05-01T12:00:00.600000Z',
      executionTimeSeconds: 0.5,
      rowsAffected: 7,
      failures: undefined,
      thread: 'Thread-2 (worker)',
      relation: 'shop.analytics.orders',
      source: 'run_results',
    });
  });

  it('falls back to the first timing entry without an execute phase, and to nothing without timing', () => {
    const onlyCompile = resultFromRunResult(entry({ timing: [{ name: 'compile', started_at: '2024-05-01T12:00:00', completed_at: null }] }));
    expect(onlyCompile.startedAt).toBe('2024-05-01T12:00:00Z');
    expect(onlyCompile.finishedAt).toBeUndefined();
    const none = resultFromRunResult(entry({ timing: [] }));
    expect(none.startedAt).toBeUndefined();
    expect(none.finishedAt).toBeUndefined();
    expect(resultFromRunResult(entry({ timing: undefined })).startedAt).toBeUndefined();
  });

  it('handles null message, failures, thread and relation', () => {
    const result = resultFromRunResult(entry({ message: null, failures: null, thread_id: null, relation_name: null }));
    expect(result.message).toBeUndefined();
    expect(result.failures).toBeUndefined();
    expect(result.thread).toBeUndefined();
    expect(result.relation).toBeUndefined();
  });

  it('keeps a positive failure count of a test', () => {
    expect(resultFromRunResult(entry({ unique_id: 'test.shop.t.1', status: 'fail', failures: 2 }))).toMatchObject({
      resourceType: 'test',
      status: 'fail',
      failures: 2,
    });
  });

  it('reads a node skipped by fail-fast as not_run', () => {
    const result = resultFromRunResult(entry({ status: 'skipped', message: 'Skipping due to fail_fast', timing: [] }));
    expect(result).toMatchObject({ status: 'not_run', dbtStatus: 'skipped' });
  });

  it('drops rows_affected -1', () => {
    expect(resultFromRunResult(entry({ adapter_response: { rows_affected: -1 } })).rowsAffected).toBeUndefined();
  });
});

describe('missingResult', () => {
  it('builds a result for a node dbt never reported', () => {
    expect(missingResult('unit_test.shop.orders.t1', 'not_run', 'dbt stopped')).toEqual({
      uniqueId: 'unit_test.shop.orders.t1',
      resourceType: 'unit_test',
      status: 'not_run',
      dbtStatus: 'not_run',
      message: 'dbt stopped',
      source: 'missing',
    });
    expect(missingResult('model.shop.a', 'canceled', 'canceled by user')).toMatchObject({ status: 'canceled', dbtStatus: 'canceled' });
  });
});

describe('EventTranslator', () => {
  it('reports a node whose query dbt canceled (LogCancelLine) and that then errored as not_run', () => {
    const t = new EventTranslator();
    expect(t.translate(event('LogCancelLine', { conn_name: 'model.shop.orders' }, 'Cancelling query'))).toBeUndefined();
    const result = t.translate(finished('model.shop.orders', { status: 'error', message: 'canceling statement due to user request' }))!;
    expect(result.status).toBe('not_run');
    expect(result.dbtStatus).toBe('error');
    expect(result.message).toBe("dbt canceled this node's query before it finished (canceling statement due to user request)");
  });

  it('says "no message" when the canceled node had none', () => {
    const t = new EventTranslator();
    t.translate(event('LogCancelLine', { conn_name: 'model.shop.orders' }));
    expect(t.translate(finished('model.shop.orders', { status: 'error', message: '' }))!.message).toContain('(no message)');
  });

  it('leaves other nodes, and a canceled node that still succeeded, alone', () => {
    const t = new EventTranslator();
    t.translate(event('LogCancelLine', { conn_name: 'model.shop.orders' }));
    expect(t.translate(finished('model.shop.customers', { status: 'error', message: 'boom' }))!.status).toBe('error');
    expect(t.translate(finished('model.shop.orders', { status: 'success' }))!.status).toBe('success');
  });

  it('does not share cancellations between translators', () => {
    const a = new EventTranslator();
    a.translate(event('LogCancelLine', { conn_name: 'model.shop.orders' }));
    expect(new EventTranslator().translate(finished('model.shop.orders', { status: 'error' }))!.status).toBe('error');
  });

  it('ignores a LogCancelLine without a usable conn_name', () => {
    const t = new EventTranslator();
    t.translate(event('LogCancelLine', { conn_name: '' }));
    t.translate(event('LogCancelLine', {}));
    expect(t.translate(finished('model.shop.orders', { status: 'error' }))!.status).toBe('error');
  });

  it.each(['MarkSkippedChildren', 'NodeStart', 'NodeExecuting', 'LogModelResult', 'RunResultError', 'CommandCompleted', 'MainReportVersion'])(
    'yields undefined for %s',
    (name) => {
      const t = new EventTranslator();
      expect(t.translate(event(name, { node_info: nodeInfo('model.shop.orders'), run_result: runResult({ status: 'skipped' }) }))).toBeUndefined();
    },
  );

  it('yields an error result for GenericExceptionOnRun with node_info', () => {
    const t = new EventTranslator();
    const crash = event(
      'GenericExceptionOnRun',
      { build_path: null, exc: 'division by zero', node_info: nodeInfo('model.shop.orders', { node_status: 'error' }), unique_id: 'model.shop.orders' },
      'Unhandled error while executing model.shop.orders\ndivision by zero',
    );
    expect(t.translate(crash)).toMatchObject({
      uniqueId: 'model.shop.orders',
      status: 'error',
      dbtStatus: 'error',
      message: 'Unhandled error while executing model.shop.orders\ndivision by zero',
      source: 'event',
    });
  });

  it('yields undefined for GenericExceptionOnRun without node_info', () => {
    expect(new EventTranslator().translate(event('GenericExceptionOnRun', { exc: 'x' }, 'x'))).toBeUndefined();
  });

  it('passes a plain NodeFinished through unchanged', () => {
    const ev = finished('model.shop.orders');
    expect(new EventTranslator().translate(ev)).toEqual(resultFromEvent(ev));
  });
});
