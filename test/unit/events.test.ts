import { describe, expect, it } from 'vitest';
import { DbtEventNames, errorTextOf, isRelevantLogLine, nodeInfoOf, parseDbtLogLine, runResultOf, type DbtEvent } from '../../src/dbt/events.js';

// Lines shaped like dbt 1.x `--log-format json` output: keys sorted, `data` before `info`.
const NODE_FINISHED_LINE =
  '{"data": {"node_info": {"materialized": "table", "meta": {}, "node_finished_at": "2024-05-01T12:00:01.234567", ' +
  '"node_name": "orders", "node_path": "marts/orders.sql", "node_relation": {"alias": "orders", "database": "shop", ' +
  '"relation_name": "\\"shop\\".\\"analytics\\".\\"orders\\"", "schema": "analytics"}, "node_started_at": "2024-05-01T12:00:00.123456", ' +
  '"node_status": "success", "resource_type": "model", "unique_id": "model.shop.orders"}, "run_result": {"adapter_response": ' +
  '{"_message": "SELECT 42", "code": "SELECT", "rows_affected": 42}, "execution_time": 1.111, "message": "SELECT 42", ' +
  '"num_failures": 0, "status": "success", "thread": "Thread-1 (worker)", "timing_info": [{"completed_at": "2024-05-01T12:00:00.200000", ' +
  '"name": "compile", "started_at": "2024-05-01T12:00:00.123456"}]}}, "info": {"category": "", "code": "Q025", "extra": {}, ' +
  '"invocation_id": "4f7c1d2e-0000-4000-8000-000000000001", "level": "debug", "msg": "Finished running node model.shop.orders", ' +
  '"name": "NodeFinished", "pid": 4242, "thread": "Thread-1 (worker)", "ts": "2024-05-01T12:00:01.240000Z"}}';

const MAIN_ERROR_LINE =
  '{"data": {"exc": "Parsing Error\\n  Invalid jinja in models/orders.sql"}, "info": {"category": "", "code": "Z002", ' +
  '"extra": {}, "invocation_id": "4f7c1d2e-0000-4000-8000-000000000002", "level": "error", "msg": "Encountered an error:\\nParsing Error", ' +
  '"name": "MainEncounteredError", "pid": 4242, "thread": "MainThread", "ts": "2024-05-01T12:00:02.000000Z"}}';

const VERSION_LINE =
  '{"data": {"log_version": 3, "version": "=1.11.16"}, "info": {"category": "", "code": "A001", "extra": {}, ' +
  '"invocation_id": "inv-1", "level": "info", "msg": "Running with dbt=1.11.16", "name": "MainReportVersion", "pid": 1, ' +
  '"thread": "MainThread", "ts": "2024-05-01T12:00:00.000000Z"}}';

function parsed(line: string): DbtEvent {
  const event = parseDbtLogLine(line);
  if (!event) throw new Error(`line not parsed: ${line}`);
  return event;
}

function eventWith(data: Record<string, unknown>, info: Partial<Record<string, unknown>> = {}): DbtEvent {
  return parsed(JSON.stringify({ data, info: { name: 'NodeFinished', msg: 'm', ts: 't', ...info } }));
}

describe('parseDbtLogLine', () => {
  it('parses a NodeFinished line into name, code, level, msg, invocation id, timestamp and data', () => {
    const event = parsed(NODE_FINISHED_LINE);
    expect(event).toMatchObject({
      name: DbtEventNames.nodeFinished,
      code: 'Q025',
      level: 'debug',
      msg: 'Finished running node model.shop.orders',
      invocationId: '4f7c1d2e-0000-4000-8000-000000000001',
      ts: '2024-05-01T12:00:01.240000Z',
    });
    expect(Object.keys(event.data).sort()).toEqual(['node_info', 'run_result']);
  });

  it('parses a version line', () => {
    const event = parsed(VERSION_LINE);
    expect(event.name).toBe(DbtEventNames.version);
    expect(event.data).toEqual({ log_version: 3, version: '=1.11.16' });
  });

  it('does not depend on key order (info before data)', () => {
    const event = parsed('{"info": {"name": "NodeStart", "code": "Q024", "level": "debug", "msg": "x", "invocation_id": "i", "ts": "t"}, "data": {"a": 1}}');
    expect(event).toEqual({ name: 'NodeStart', code: 'Q024', level: 'debug', msg: 'x', invocationId: 'i', ts: 't', data: { a: 1 } });
  });

  it('keeps a line with a trailing carriage return', () => {
    expect(parsed(`${VERSION_LINE}\r`).name).toBe('MainReportVersion');
  });

  it.each([
    ['an empty line', ''],
    ['a text log line', '12:00:00  Running with dbt=1.11.16'],
    ['a stray print', 'hello from a macro'],
    ['indented JSON', ' {"info": {"name": "X"}}'],
    ['a JSON array', '[{"info": {"name": "X"}}]'],
    ['a JSON string', '"{\\"info\\": 1}"'],
    ['truncated JSON', '{"data": {}, "info": {"name": "NodeFin'],
    ['JSON without info', '{"data": {"x": 1}}'],
    ['JSON with a null info', '{"data": {}, "info": null}'],
    ['JSON whose info has no name', '{"data": {}, "info": {"code": "Q025", "msg": "x"}}'],
    ['JSON whose info name is not a string', '{"data": {}, "info": {"name": 7}}'],
  ])('skips %s', (_what, line) => {
    expect(parseDbtLogLine(line)).toBeNull();
  });

  it('fills missing info fields with empty strings and missing data with {}', () => {
    expect(parsed('{"info": {"name": "Bare"}}')).toEqual({ name: 'Bare', code: '', level: '', msg: '', invocationId: '', ts: '', data: {} });
    expect(parsed('{"info": {"name": "Bare"}, "data": null}').data).toEqual({});
  });
});

describe('nodeInfoOf', () => {
  it('returns the node_info block of a node event', () => {
    const info = nodeInfoOf(parsed(NODE_FINISHED_LINE));
    expect(info).toMatchObject({
      unique_id: 'model.shop.orders',
      resource_type: 'model',
      node_name: 'orders',
      materialized: 'table',
      node_started_at: '2024-05-01T12:00:00.123456',
      node_finished_at: '2024-05-01T12:00:01.234567',
      node_relation: { relation_name: '"shop"."analytics"."orders"' },
    });
  });

  it('is undefined for an event without a node, or with a node_info lacking a unique_id', () => {
    expect(nodeInfoOf(parsed(VERSION_LINE))).toBeUndefined();
    expect(nodeInfoOf(eventWith({ node_info: null }))).toBeUndefined();
    expect(nodeInfoOf(eventWith({ node_info: {} }))).toBeUndefined();
    expect(nodeInfoOf(eventWith({ node_info: { unique_id: '' } }))).toBeUndefined();
    expect(nodeInfoOf(eventWith({ node_info: { unique_id: 42 } }))).toBeUndefined();
  });
});

describe('runResultOf', () => {
  it('returns the run_result block of a NodeFinished event', () => {
    const rr = runResultOf(parsed(NODE_FINISHED_LINE));
    expect(rr).toMatchObject({ status: 'success', message: 'SELECT 42', execution_time: 1.111, num_failures: 0, thread: 'Thread-1 (worker)' });
    expect(rr?.adapter_response).toEqual({ _message: 'SELECT 42', code: 'SELECT', rows_affected: 42 });
  });

  it('is undefined without a run_result or without a status string', () => {
    expect(runResultOf(parsed(VERSION_LINE))).toBeUndefined();
    expect(runResultOf(eventWith({ run_result: null }))).toBeUndefined();
    expect(runResultOf(eventWith({ run_result: { message: 'x' } }))).toBeUndefined();
    expect(runResultOf(eventWith({ run_result: { status: 1 } }))).toBeUndefined();
  });
});

describe('errorTextOf', () => {
  it('quotes data.exc of a MainEncounteredError', () => {
    const event = parsed(MAIN_ERROR_LINE);
    expect(event.name).toBe(DbtEventNames.fatal);
    expect(errorTextOf(event)).toBe('Parsing Error\n  Invalid jinja in models/orders.sql');
  });

  it('falls back to msg when exc is missing, empty or not a string', () => {
    expect(errorTextOf(eventWith({}, { msg: 'the message' }))).toBe('the message');
    expect(errorTextOf(eventWith({ exc: '' }, { msg: 'the message' }))).toBe('the message');
    expect(errorTextOf(eventWith({ exc: { nested: true } }, { msg: 'the message' }))).toBe('the message');
  });
});

describe('isRelevantLogLine', () => {
  const debugSql =
    '{"data": {"conn_name": "model.shop.orders", "sql": "select 1"}, "info": {"invocation_id": "inv-1", "level": "debug", ' +
    '"msg": "On model.shop.orders: select 1", "name": "SQLQuery"}}';

  it('keeps the events Watcher reads and error-level lines', () => {
    expect(isRelevantLogLine(NODE_FINISHED_LINE)).toBe(true);
    expect(isRelevantLogLine(MAIN_ERROR_LINE)).toBe(true);
    expect(isRelevantLogLine(VERSION_LINE)).toBe(true);
    expect(isRelevantLogLine(debugSql.replace('"level": "debug"', '"level": "error"'))).toBe(true);
  });

  it('drops debug chatter such as SQL queries', () => {
    expect(isRelevantLogLine(debugSql)).toBe(false);
  });

  it('keeps lines that are not dbt events, as dbt plain output', () => {
    expect(isRelevantLogLine('Traceback (most recent call last):')).toBe(true);
  });
});
