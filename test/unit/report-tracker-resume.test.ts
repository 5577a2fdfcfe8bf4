import { describe, expect, it } from 'vitest';
import { ReportTracker, type PartialReport } from '../../src/build/report-tracker.js';
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

interface Checkpoint {
  reported: string[];
  finished: Map<string, ResultStatus>;
  partials: PartialReport[];
}

/** What the build activity checkpoints from a tracker. */
function checkpointOf(t: ReportTracker): Checkpoint {
  return { reported: t.completedConsumers(), finished: new Map(t.finishedStatuses()), partials: t.openPartials() };
}

describe('ReportTracker.finishedStatuses', () => {
  it('is empty before any result', () => {
    expect(tracker().finishedStatuses().size).toBe(0);
  });

  it('has the status of every consumer and test with a result, the first result winning', () => {
    const t = tracker();
    t.record(result(ORDERS), 1);
    t.record(result(T_REL, 'fail'), 2);
    t.record(result(T_REL, 'pass'), 3);
    t.record(result(PAYMENTS, 'error'), 4);
    expect(Object.fromEntries(t.finishedStatuses())).toEqual({ [ORDERS]: 'success', [T_REL]: 'fail', [PAYMENTS]: 'error' });
  });

  it('leaves out results of nodes the tracker does not know', () => {
    const t = tracker();
    t.record(result('model.shop.other'), 1);
    t.record(result('test.shop.other'), 2);
    expect(t.finishedStatuses().size).toBe(0);
  });

  it('keeps the statuses of completed consumers', () => {
    const t = tracker();
    t.record(result(PAYMENTS), 1);
    expect(t.completedConsumers()).toEqual([PAYMENTS]);
    expect(t.finishedStatuses().get(PAYMENTS)).toBe('success');
  });
});

describe('ReportTracker.openPartials', () => {
  it('is empty while no open report has a result', () => {
    const t = tracker();
    expect(t.openPartials()).toEqual([]);
    t.record(result(PAYMENTS), 1); // completes at once: not partial
    expect(t.openPartials()).toEqual([]);
  });

  it('lists a consumer with its node only, or with tests only', () => {
    const t = tracker();
    t.record(result(ORDERS), 1);
    expect(t.openPartials()).toEqual([{ uniqueId: ORDERS, node: result(ORDERS), tests: [] }]);
    const u = tracker();
    u.record(result(T_ORDERS_ID, 'fail'), 1);
    expect(u.openPartials()).toEqual([{ uniqueId: ORDERS, node: undefined, tests: [result(T_ORDERS_ID, 'fail')] }]);
  });

  it('lists a shared test under each open consumer, tests in the consumer order', () => {
    const t = tracker();
    t.record(result(T_REL, 'warn'), 1);
    t.record(result(T_ORDERS_ID), 2);
    const partials = t.openPartials();
    expect(partials.map((p) => p.uniqueId)).toEqual([ORDERS, CUSTOMERS]);
    expect(partials[0]!.tests.map((x) => x.uniqueId)).toEqual([T_ORDERS_ID, T_REL]);
    expect(partials[1]!.tests).toEqual([result(T_REL, 'warn')]);
  });

  it('drops a consumer once its report is complete', () => {
    const t = tracker();
    t.record(result(CUSTOMERS), 1);
    expect(t.openPartials().map((p) => p.uniqueId)).toEqual([CUSTOMERS]);
    t.record(result(T_REL), 2);
    expect(t.openPartials().map((p) => p.uniqueId)).toEqual([ORDERS]);
  });
});

describe('ReportTracker.restore', () => {
  it('never reports a reported consumer again', () => {
    const t = tracker();
    t.restore({ reported: [PAYMENTS, CUSTOMERS], finished: new Map([[PAYMENTS, 'success']]), partials: [] });
    expect(t.completedConsumers().sort()).toEqual([CUSTOMERS, PAYMENTS]);
    expect(t.openCount()).toBe(1);
    expect(t.isConsumer(PAYMENTS)).toBe(true);
    expect(t.record(result(PAYMENTS), 1)).toEqual([]);
    expect(t.record(result(CUSTOMERS), 2)).toEqual([]);
    expect(t.completeReady(3)).toEqual([]);
    // the shared test now completes orders only
    t.record(result(ORDERS), 4);
    t.record(result(T_ORDERS_ID), 5);
    t.record(result(T_ORDERS_UNIQUE), 6);
    expect(t.record(result(T_REL), 7).map((r) => r.uniqueId)).toEqual([ORDERS]);
    expect(t.completeAll('not_run', 'gone', true, 8)).toEqual([]);
  });

  it('never reports a reported consumer again even when the checkpoint also has a partial for it', () => {
    const t = tracker();
    t.restore({ reported: [CUSTOMERS], finished: new Map([[CUSTOMERS, 'success']]), partials: [{ uniqueId: CUSTOMERS, node: result(CUSTOMERS), tests: [] }] });
    expect(t.completeReady(1)).toEqual([]);
    expect(t.record(result(T_REL), 2)).toEqual([]);
    expect(t.completeAll('not_run', 'gone', true, 3).map((r) => r.uniqueId).sort()).toEqual([ORDERS, PAYMENTS]);
  });

  it('completes a report from restored partial results together with new results', () => {
    const t = tracker('inv-2');
    t.restore({
      reported: [],
      finished: new Map<string, ResultStatus>([
        [ORDERS, 'success'],
        [T_ORDERS_UNIQUE, 'fail'],
      ]),
      partials: [{ uniqueId: ORDERS, node: result(ORDERS, 'success', 'INSERT 0 5'), tests: [result(T_ORDERS_UNIQUE, 'fail', 'got 2 results')] }],
    });
    expect(t.completeReady(1)).toEqual([]);
    expect(t.record(result(T_ORDERS_ID), 2)).toEqual([]);
    const [report] = t.record(result(T_REL), 3);
    expect(report).toEqual({
      uniqueId: ORDERS,
      node: result(ORDERS, 'success', 'INSERT 0 5'),
      tests: [result(T_ORDERS_ID), result(T_ORDERS_UNIQUE, 'fail', 'got 2 results'), result(T_REL)],
      invocationId: 'inv-2',
      completedAtMs: 3,
    });
  });

  it('completes a consumer whose restored partial has only tests once its node arrives', () => {
    const t = tracker();
    t.restore({ reported: [], finished: new Map([[T_REL, 'warn']]), partials: [{ uniqueId: CUSTOMERS, tests: [result(T_REL, 'warn')] }] });
    const [report] = t.record(result(CUSTOMERS), 1);
    expect(report!.uniqueId).toBe(CUSTOMERS);
    expect(report!.tests).toEqual([result(T_REL, 'warn')]);
  });

  it('keeps restored results over new ones: a finished node is not recorded twice', () => {
    const t = tracker();
    t.restore({
      reported: [],
      finished: new Map([[T_REL, 'fail']]),
      partials: [
        { uniqueId: ORDERS, tests: [result(T_REL, 'fail')] },
        { uniqueId: CUSTOMERS, tests: [result(T_REL, 'fail')] },
      ],
    });
    expect(t.record(result(T_REL, 'pass'), 1)).toEqual([]);
    const [customers] = t.record(result(CUSTOMERS), 2);
    expect(customers!.tests.map((x) => x.status)).toEqual(['fail']);
    expect(t.finishedStatuses().get(T_REL)).toBe('fail');
  });

  it('adds the restored statuses to finishedStatuses, and restored results to openPartials', () => {
    const t = tracker();
    const partials: PartialReport[] = [{ uniqueId: ORDERS, node: result(ORDERS), tests: [result(T_ORDERS_ID)] }];
    t.restore({
      reported: [PAYMENTS],
      finished: new Map<string, ResultStatus>([
        [PAYMENTS, 'success'],
        [ORDERS, 'success'],
        [T_ORDERS_ID, 'pass'],
      ]),
      partials,
    });
    expect(Object.fromEntries(t.finishedStatuses())).toEqual({ [PAYMENTS]: 'success', [ORDERS]: 'success', [T_ORDERS_ID]: 'pass' });
    // the next checkpoint must not lose what the last one had
    expect(t.openPartials()).toEqual(partials);
  });

  it('ignores partials of unknown or reported consumers, and tests that are not the consumer’s', () => {
    const t = tracker();
    t.restore({
      reported: [],
      finished: new Map(),
      partials: [
        { uniqueId: 'model.shop.gone', node: result('model.shop.gone'), tests: [] },
        { uniqueId: CUSTOMERS, node: result(CUSTOMERS), tests: [result(T_ORDERS_ID)] },
      ],
    });
    expect(t.openPartials()).toEqual([{ uniqueId: CUSTOMERS, node: result(CUSTOMERS), tests: [] }]);
    expect(t.isConsumer('model.shop.gone')).toBe(false);
    expect(t.openCount()).toBe(3);
  });

  it('survives a crash in the middle of a build: every consumer reported exactly once over both attempts', () => {
    const first = tracker('inv-1');
    const delivered: string[] = [];
    const deliver = (reports: { uniqueId: string }[]) => delivered.push(...reports.map((r) => r.uniqueId));
    deliver(first.record(result(ORDERS), 1));
    deliver(first.record(result(T_REL), 2));
    deliver(first.record(result(CUSTOMERS), 3));
    deliver(first.record(result(T_ORDERS_ID), 4));
    expect(delivered).toEqual([CUSTOMERS]);
    const cp = checkpointOf(first);

    const second = tracker('inv-2');
    second.restore(cp);
    deliver(second.completeReady(10));
    deliver(second.record(result(CUSTOMERS), 11));
    deliver(second.record(result(T_REL), 12));
    deliver(second.record(result(T_ORDERS_UNIQUE), 13));
    deliver(second.record(result(PAYMENTS), 14));
    deliver(second.completeAll('not_run', 'x', true, 15));
    expect(delivered).toEqual([CUSTOMERS, ORDERS, PAYMENTS]);
  });
});

describe('ReportTracker.completeReady', () => {
  it('returns nothing on a fresh tracker, even for consumers without tests', () => {
    expect(tracker().completeReady(1)).toEqual([]);
  });

  it('completes restored reports that need nothing more, once', () => {
    const t = tracker('inv-3');
    t.restore({
      reported: [],
      finished: new Map<string, ResultStatus>([
        [PAYMENTS, 'error'],
        [CUSTOMERS, 'success'],
        [T_REL, 'pass'],
        [ORDERS, 'success'],
      ]),
      partials: [
        { uniqueId: PAYMENTS, node: result(PAYMENTS, 'error'), tests: [] },
        { uniqueId: CUSTOMERS, node: result(CUSTOMERS), tests: [result(T_REL)] },
        { uniqueId: ORDERS, node: result(ORDERS), tests: [result(T_REL)] },
      ],
    });
    const reports = t.completeReady(42);
    expect(reports).toEqual([
      { uniqueId: CUSTOMERS, node: result(CUSTOMERS), tests: [result(T_REL)], invocationId: 'inv-3', completedAtMs: 42 },
      { uniqueId: PAYMENTS, node: result(PAYMENTS, 'error'), tests: [], invocationId: 'inv-3', completedAtMs: 42 },
    ]);
    expect(t.completeReady(43)).toEqual([]);
    expect(t.completedConsumers().sort()).toEqual([CUSTOMERS, PAYMENTS]);
    expect(t.openCount()).toBe(1);
    expect(t.openPartials().map((p) => p.uniqueId)).toEqual([ORDERS]);
  });

  it('does not complete a report whose node is missing, even with every test in', () => {
    const t = tracker();
    t.restore({ reported: [], finished: new Map([[T_REL, 'pass']]), partials: [{ uniqueId: CUSTOMERS, tests: [result(T_REL)] }] });
    expect(t.completeReady(1)).toEqual([]);
  });
});

describe('ReportTracker.restoreReceived (what Temporal says reached the consumers)', () => {
  it('marks them reported, their results finished, and hands a shared test to the other parent', () => {
    const t = tracker();
    t.restoreReceived([{ uniqueId: CUSTOMERS, node: result(CUSTOMERS), tests: [result(T_REL)] }]);
    expect(t.completedConsumers()).toEqual([CUSTOMERS]);
    expect(Object.fromEntries(t.finishedStatuses())).toEqual({ [CUSTOMERS]: 'success', [T_REL]: 'pass' });
    // ORDERS needs only its own node and two tests now: T_REL came with CUSTOMERS' report.
    t.record(result(ORDERS), 1);
    t.record(result(T_ORDERS_ID), 2);
    const done = t.record(result(T_ORDERS_UNIQUE), 3);
    expect(done.map((r) => r.uniqueId)).toEqual([ORDERS]);
    expect(done[0]!.tests.map((x) => x.uniqueId)).toContain(T_REL);
    // A later result for a received consumer reports nothing again.
    expect(t.record(result(CUSTOMERS, 'error'), 4)).toEqual([]);
  });

  it('a received report with unknown results counts its node as not passing', () => {
    const t = tracker();
    t.restoreReceived([{ uniqueId: PAYMENTS, tests: [] }]);
    expect(t.finishedStatuses().get(PAYMENTS)).toBe('error');
    expect(t.openConsumers().sort()).toEqual([CUSTOMERS, ORDERS].sort());
  });

  it('does not take a filled-in (missing) test result as a result', () => {
    const t = tracker();
    t.restoreReceived([{ uniqueId: CUSTOMERS, node: result(CUSTOMERS), tests: [{ ...result(T_REL, 'not_run'), source: 'missing' }] }]);
    expect(t.finishedStatuses().has(T_REL)).toBe(false);
  });
});
