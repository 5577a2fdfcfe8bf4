import { describe, expect, it } from 'vitest';
import { ReportTracker } from '../../src/build/report-tracker.js';
import type { DbtNodeResult } from '../../src/contracts/messages.js';
import type { ResultStatus } from '../../src/contracts/status.js';

function result(uniqueId: string, status: ResultStatus = uniqueId.startsWith('test.') ? 'pass' : 'success', message?: string): DbtNodeResult {
  return { uniqueId, resourceType: uniqueId.split('.')[0]!, status, dbtStatus: status, message, source: 'event' };
}

const ORDERS = 'model.shop.orders';
const CUSTOMERS = 'model.shop.customers';
const PAYMENTS = 'model.shop.payments';
const T_ORDERS_ID = 'test.shop.not_null_orders_id';
const T_ORDERS_UNIQUE = 'test.shop.unique_orders_id';
const T_REL = 'test.shop.relationships_orders_customer_id';

function tracker(invocationId?: string): ReportTracker {
  return new ReportTracker(
    [
      { uniqueId: ORDERS, tests: [T_ORDERS_ID, T_ORDERS_UNIQUE, T_REL] },
      { uniqueId: CUSTOMERS, tests: [T_REL] },
      { uniqueId: PAYMENTS, tests: [] },
    ],
    () => invocationId,
  );
}

describe('ReportTracker.record', () => {
  it('completes a consumer without tests on its node result', () => {
    const t = tracker('inv-1');
    const reports = t.record(result(PAYMENTS), 1000);
    expect(reports).toEqual([{ uniqueId: PAYMENTS, node: result(PAYMENTS), tests: [], invocationId: 'inv-1', completedAtMs: 1000 }]);
    expect(t.completedConsumers()).toEqual([PAYMENTS]);
    expect(t.openCount()).toBe(2);
  });

  it('completes a report only when the node and all its tests have results', () => {
    const t = tracker();
    expect(t.record(result(ORDERS), 1)).toEqual([]);
    expect(t.record(result(T_ORDERS_ID), 2)).toEqual([]);
    expect(t.record(result(T_ORDERS_UNIQUE, 'fail'), 3)).toEqual([]);
    const reports = t.record(result(T_REL), 4);
    expect(reports.map((r) => r.uniqueId)).toEqual([ORDERS]);
    const [report] = reports;
    expect(report!.node).toEqual(result(ORDERS));
    // tests in the consumer's order, not arrival order
    expect(report!.tests.map((x) => [x.uniqueId, x.status])).toEqual([
      [T_ORDERS_ID, 'pass'],
      [T_ORDERS_UNIQUE, 'fail'],
      [T_REL, 'pass'],
    ]);
    expect(report!.completedAtMs).toBe(4);
    expect(report!.invocationId).toBeUndefined();
  });

  it('waits for the node even when every test is in', () => {
    const t = tracker();
    expect(t.record(result(T_ORDERS_ID), 1)).toEqual([]);
    expect(t.record(result(T_ORDERS_UNIQUE), 2)).toEqual([]);
    expect(t.record(result(T_REL), 3).map((r) => r.uniqueId)).toEqual([]);
    expect(t.record(result(ORDERS), 4).map((r) => r.uniqueId)).toEqual([ORDERS]);
  });

  it('lets a two-parent test complete both parents at once', () => {
    const t = tracker();
    t.record(result(ORDERS), 1);
    t.record(result(T_ORDERS_ID), 2);
    t.record(result(T_ORDERS_UNIQUE), 3);
    t.record(result(CUSTOMERS), 4);
    const reports = t.record(result(T_REL, 'fail'), 5);
    expect(reports.map((r) => r.uniqueId).sort()).toEqual([CUSTOMERS, ORDERS]);
    for (const r of reports) expect(r.tests.find((x) => x.uniqueId === T_REL)!.status).toBe('fail');
    expect(t.openCount()).toBe(1);
  });

  it('ignores duplicates: the first result of a node wins', () => {
    const t = tracker();
    t.record(result(T_REL, 'fail'), 1);
    expect(t.record(result(T_REL, 'pass'), 2)).toEqual([]);
    expect(t.record(result(CUSTOMERS, 'error'), 3)[0]!.node.status).toBe('error');
    expect(t.record(result(CUSTOMERS, 'success'), 4)).toEqual([]);
    const [report] = t.record(result(PAYMENTS), 5);
    expect(t.record(result(PAYMENTS, 'error'), 6)).toEqual([]);
    expect(report!.node.status).toBe('success');
    t.record(result(ORDERS), 7);
    t.record(result(T_ORDERS_ID), 8);
    const [orders] = t.record(result(T_ORDERS_UNIQUE), 9);
    expect(orders!.tests.find((x) => x.uniqueId === T_REL)!.status).toBe('fail');
  });

  it('never completes a report twice', () => {
    const t = tracker();
    expect(t.record(result(PAYMENTS), 1)).toHaveLength(1);
    expect(t.record(result(PAYMENTS), 2)).toHaveLength(0);
    expect(t.completeAll('not_run', 'dbt stopped', true, 3).map((r) => r.uniqueId)).not.toContain(PAYMENTS);
  });

  it('ignores results of nodes it does not track', () => {
    const t = tracker();
    expect(t.record(result('model.shop.other'), 1)).toEqual([]);
    expect(t.record(result('test.shop.orphan'), 2)).toEqual([]);
    expect([...t.finishedStatuses().keys()]).toEqual([]);
    expect(t.openCount()).toBe(3);
  });

  it('lists finished nodes (consumers and tests) and knows its consumers', () => {
    const t = tracker();
    t.record(result(ORDERS), 1);
    t.record(result(T_REL), 2);
    expect([...t.finishedStatuses().keys()].sort()).toEqual([ORDERS, T_REL]);
    expect(t.isConsumer(ORDERS)).toBe(true);
    expect(t.isConsumer(PAYMENTS)).toBe(true);
    expect(t.isConsumer(T_REL)).toBe(false);
    t.record(result(PAYMENTS), 3);
    expect(t.isConsumer(PAYMENTS)).toBe(true);
  });

  it('asks for the invocation id when a report completes', () => {
    const state: { invocation?: string } = {};
    const t = new ReportTracker([{ uniqueId: ORDERS, tests: [] }, { uniqueId: PAYMENTS, tests: [] }], () => state.invocation);
    expect(t.record(result(ORDERS), 1)[0]!.invocationId).toBeUndefined();
    state.invocation = 'inv-late';
    expect(t.record(result(PAYMENTS), 2)[0]!.invocationId).toBe('inv-late');
  });
});

describe('ReportTracker.completeAll', () => {
  it('fills a missing node and missing tests with not_run and sets cause and retryable', () => {
    const t = tracker('inv-9');
    t.record(result(ORDERS), 1);
    t.record(result(T_ORDERS_ID, 'fail'), 2);
    const reports = t.completeAll('not_run', 'dbt stopped after a fatal error', true, 50);
    expect(reports.map((r) => r.uniqueId).sort()).toEqual([CUSTOMERS, ORDERS, PAYMENTS]);
    const orders = reports.find((r) => r.uniqueId === ORDERS)!;
    expect(orders.node).toEqual(result(ORDERS));
    expect(orders.tests.map((x) => [x.uniqueId, x.status, x.source])).toEqual([
      [T_ORDERS_ID, 'fail', 'event'],
      [T_ORDERS_UNIQUE, 'not_run', 'missing'],
      [T_REL, 'not_run', 'missing'],
    ]);
    expect(orders.tests[1]!.message).toBe('dbt stopped after a fatal error');
    expect(orders).toMatchObject({ cause: 'dbt stopped after a fatal error', retryable: true, invocationId: 'inv-9', completedAtMs: 50 });

    const payments = reports.find((r) => r.uniqueId === PAYMENTS)!;
    expect(payments.node).toMatchObject({ uniqueId: PAYMENTS, resourceType: 'model', status: 'not_run', source: 'missing' });
    expect(payments).toMatchObject({ cause: 'dbt stopped after a fatal error', retryable: true });

    expect(t.openCount()).toBe(0);
    expect(t.completedConsumers().sort()).toEqual([CUSTOMERS, ORDERS, PAYMENTS]);
  });

  it('fills with canceled and keeps retryable false', () => {
    const t = tracker();
    const reports = t.completeAll('canceled', 'the build was canceled', false, 9);
    for (const r of reports) {
      expect(r.node.status).toBe('canceled');
      expect(r.tests.every((x) => x.status === 'canceled')).toBe(true);
      expect(r.cause).toBe('the build was canceled');
      expect(r.retryable).toBe(false);
    }
  });

  it('closes only open reports and is empty once everything is closed', () => {
    const t = tracker();
    t.record(result(PAYMENTS), 1);
    expect(t.completeAll('not_run', 'x', true, 2).map((r) => r.uniqueId).sort()).toEqual([CUSTOMERS, ORDERS]);
    expect(t.completeAll('not_run', 'x', true, 3)).toEqual([]);
    expect(t.record(result(ORDERS), 4)).toEqual([]);
  });
});

describe('ReportTracker.markReported', () => {
  it('treats marked consumers as done: no report for them, ever', () => {
    const t = tracker();
    t.markReported([ORDERS, PAYMENTS, 'model.shop.unknown']);
    expect(t.completedConsumers().sort()).toEqual([ORDERS, PAYMENTS]);
    expect(t.openCount()).toBe(1);
    expect(t.isConsumer(ORDERS)).toBe(true);
    expect(t.isConsumer('model.shop.unknown')).toBe(false);
    expect(t.record(result(ORDERS), 1)).toEqual([]);
    expect(t.record(result(PAYMENTS), 2)).toEqual([]);
    expect(t.completeAll('not_run', 'x', true, 3).map((r) => r.uniqueId)).toEqual([CUSTOMERS]);
  });

  it('still completes the other parent of a shared test', () => {
    const t = tracker();
    t.markReported([ORDERS]);
    t.record(result(CUSTOMERS), 1);
    expect(t.record(result(T_REL), 2).map((r) => r.uniqueId)).toEqual([CUSTOMERS]);
  });
});
