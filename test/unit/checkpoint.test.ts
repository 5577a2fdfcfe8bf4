import { describe, expect, it } from 'vitest';
import { checkpointIndex, decodeCheckpoint, encodeCheckpoint, isCheckpoint, type BuildCheckpoint } from '../../src/build/checkpoint.js';
import { ReportTracker, type PartialReport, type TrackedConsumer } from '../../src/build/report-tracker.js';
import type { DbtNodeResult } from '../../src/contracts/messages.js';
import type { ResultStatus } from '../../src/contracts/status.js';

function result(uniqueId: string, status: ResultStatus = uniqueId.startsWith('model.') ? 'success' : 'pass'): DbtNodeResult {
  return { uniqueId, resourceType: uniqueId.split('.')[0]!, status, dbtStatus: status, source: 'event' };
}

const ORDERS = 'model.shop.orders';
const CUSTOMERS = 'model.shop.customers';
const PAYMENTS = 'model.shop.payments';
const T_ORDERS_ID = 'test.shop.not_null_orders_id';
const T_ORDERS_UNIQUE = 'test.shop.unique_orders_id';
const T_REL = 'test.shop.relationships_orders_customer_id';
const U_TOTALS = 'unit_test.shop.orders.test_order_totals';

const CONSUMERS: TrackedConsumer[] = [
  { uniqueId: ORDERS, tests: [T_ORDERS_ID, T_REL, U_TOTALS, T_ORDERS_UNIQUE] },
  { uniqueId: CUSTOMERS, tests: [T_REL] },
  { uniqueId: PAYMENTS, tests: [] },
];

function state(over: Partial<Parameters<typeof encodeCheckpoint>[1]> = {}): Parameters<typeof encodeCheckpoint>[1] {
  return { reported: [], finished: new Map(), partials: [], ...over };
}

describe('checkpointIndex', () => {
  it('lists consumers first, then each test once, in the consumers order', () => {
    expect(checkpointIndex(CONSUMERS)).toEqual([ORDERS, CUSTOMERS, PAYMENTS, T_ORDERS_ID, T_REL, U_TOTALS, T_ORDERS_UNIQUE]);
  });

  it('lists a test shared by two consumers once, at its first owner', () => {
    const index = checkpointIndex([
      { uniqueId: CUSTOMERS, tests: [T_REL] },
      { uniqueId: ORDERS, tests: [T_ORDERS_ID, T_REL] },
    ]);
    expect(index).toEqual([CUSTOMERS, ORDERS, T_REL, T_ORDERS_ID]);
    expect(new Set(index).size).toBe(index.length);
  });

  it('is stable: a retried attempt, given the same consumers, builds the same index and decodes what the last one saved', () => {
    // The attempts compare against a fixed expectation, never against each other: an index
    // that drifted (kept state between calls, depended on anything but the consumers' order)
    // would otherwise agree with itself.
    const expected = [ORDERS, CUSTOMERS, PAYMENTS, T_ORDERS_ID, T_REL, U_TOTALS, T_ORDERS_UNIQUE];
    const first = checkpointIndex(CONSUMERS);
    // A retried attempt gets the consumers again through Temporal: as JSON, a fresh copy.
    const retried = checkpointIndex(JSON.parse(JSON.stringify(CONSUMERS)) as TrackedConsumer[]);
    expect(first).toEqual(expected);
    expect(retried).toEqual(expected);
    expect(checkpointIndex(CONSUMERS)).toEqual(expected);
    // What the first attempt checkpointed means the same nodes to the retried one.
    const finished = new Map<string, ResultStatus>([
      [ORDERS, 'success'],
      [T_REL, 'fail'],
      [U_TOTALS, 'skipped'],
    ]);
    const saved = JSON.parse(JSON.stringify(encodeCheckpoint(first, state({ reported: [PAYMENTS], finished })))) as BuildCheckpoint;
    const decoded = decodeCheckpoint(retried, saved);
    expect(decoded.reported).toEqual([PAYMENTS]);
    expect(Object.fromEntries(decoded.finished)).toEqual({ [ORDERS]: 'success', [T_REL]: 'error', [U_TOTALS]: 'skipped' });
  });

  it('is empty without consumers, and does not touch its input', () => {
    expect(checkpointIndex([])).toEqual([]);
    const consumers = [{ uniqueId: ORDERS, tests: [T_ORDERS_ID] }];
    checkpointIndex(consumers);
    expect(consumers).toEqual([{ uniqueId: ORDERS, tests: [T_ORDERS_ID] }]);
  });
});

describe('encodeCheckpoint', () => {
  const index = checkpointIndex(CONSUMERS);
  const at = (id: string) => index.indexOf(id);

  it('turns node ids into indices of the node list', () => {
    const cp = encodeCheckpoint(index, state({ invocationId: 'inv-1', reported: [PAYMENTS, CUSTOMERS], finished: new Map([[T_REL, 'pass']]) }));
    expect(cp).toEqual({ invocationId: 'inv-1', reported: [at(PAYMENTS), at(CUSTOMERS)], succeeded: [at(T_REL)], failed: [], skipped: [], partials: [] });
  });

  it('counts success, pass and warn as succeeded, error and fail as failed, every other status as skipped', () => {
    const finished = new Map<string, ResultStatus>([
      [ORDERS, 'success'],
      [T_ORDERS_ID, 'pass'],
      [T_REL, 'warn'],
      [CUSTOMERS, 'error'],
      [T_ORDERS_UNIQUE, 'fail'],
      [PAYMENTS, 'skipped'],
      [U_TOTALS, 'not_run'],
    ]);
    const cp = encodeCheckpoint(index, state({ finished }));
    expect([...cp.succeeded].sort()).toEqual([at(ORDERS), at(T_ORDERS_ID), at(T_REL)].sort());
    expect([...cp.failed].sort()).toEqual([at(CUSTOMERS), at(T_ORDERS_UNIQUE)].sort());
    expect([...cp.skipped].sort()).toEqual([at(PAYMENTS), at(U_TOTALS)].sort());
  });

  it('counts canceled as skipped (the node never ran), not as failed', () => {
    const cp = encodeCheckpoint(index, state({ finished: new Map([[ORDERS, 'canceled']]) }));
    expect(cp.skipped).toEqual([at(ORDERS)]);
    expect(cp.failed).toEqual([]);
    expect(cp.succeeded).toEqual([]);
  });

  it('puts each finished node in exactly one list', () => {
    const statuses: ResultStatus[] = ['success', 'pass', 'warn', 'error', 'fail', 'skipped', 'not_run'];
    const finished = new Map<string, ResultStatus>(index.map((id, i) => [id, statuses[i % statuses.length]!]));
    const cp = encodeCheckpoint(index, state({ finished }));
    const all = [...cp.succeeded, ...cp.failed, ...cp.skipped];
    expect(all.sort((a, b) => a - b)).toEqual(index.map((_, i) => i));
  });

  it('drops ids that are not in the index', () => {
    const cp = encodeCheckpoint(
      index,
      state({
        reported: ['model.shop.gone', PAYMENTS],
        finished: new Map<string, ResultStatus>([
          ['model.shop.gone', 'success'],
          ['test.shop.gone', 'fail'],
          ['model.shop.gone_too', 'skipped'],
          [ORDERS, 'success'],
        ]),
      }),
    );
    expect(cp.reported).toEqual([at(PAYMENTS)]);
    expect(cp.succeeded).toEqual([at(ORDERS)]);
    expect(cp.failed).toEqual([]);
    expect(cp.skipped).toEqual([]);
  });

  it('keeps partial reports as they are', () => {
    const partials: PartialReport[] = [{ uniqueId: ORDERS, node: result(ORDERS), tests: [result(T_ORDERS_ID, 'fail')] }];
    expect(encodeCheckpoint(index, state({ partials })).partials).toEqual(partials);
  });

  it('carries dbtExitCode only when it is defined (null included)', () => {
    expect(encodeCheckpoint(index, state())).not.toHaveProperty('dbtExitCode');
    expect(encodeCheckpoint(index, state({ dbtExitCode: undefined }))).not.toHaveProperty('dbtExitCode');
    expect(encodeCheckpoint(index, state({ dbtExitCode: 1 })).dbtExitCode).toBe(1);
    expect(encodeCheckpoint(index, state({ dbtExitCode: 0 })).dbtExitCode).toBe(0);
    const withNull = encodeCheckpoint(index, state({ dbtExitCode: null }));
    expect(withNull).toHaveProperty('dbtExitCode');
    expect(withNull.dbtExitCode).toBeNull();
  });

  it('is plain JSON: it survives serialisation (heartbeat details are JSON)', () => {
    const cp = encodeCheckpoint(
      index,
      state({ invocationId: 'inv', reported: [PAYMENTS], finished: new Map([[ORDERS, 'success']]), partials: [{ uniqueId: ORDERS, node: result(ORDERS), tests: [] }], dbtExitCode: 1 }),
    );
    expect(JSON.parse(JSON.stringify(cp))).toEqual(cp);
    expect(isCheckpoint(JSON.parse(JSON.stringify(cp)))).toBe(true);
  });
});

describe('decodeCheckpoint', () => {
  const index = checkpointIndex(CONSUMERS);

  it('round-trips reported ids and the pass / fail / skip classification of finished nodes', () => {
    const finished = new Map<string, ResultStatus>([
      [ORDERS, 'success'],
      [T_ORDERS_ID, 'pass'],
      [T_REL, 'warn'],
      [CUSTOMERS, 'error'],
      [T_ORDERS_UNIQUE, 'fail'],
      [U_TOTALS, 'skipped'],
      [PAYMENTS, 'not_run'],
    ]);
    const decoded = decodeCheckpoint(index, encodeCheckpoint(index, state({ invocationId: 'inv-9', reported: [PAYMENTS, CUSTOMERS], finished, dbtExitCode: 1 })));
    expect(decoded.invocationId).toBe('inv-9');
    expect(decoded.reported).toEqual([PAYMENTS, CUSTOMERS]);
    expect(decoded.dbtExitCode).toBe(1);
    expect(Object.fromEntries(decoded.finished)).toEqual({
      [ORDERS]: 'success',
      [T_ORDERS_ID]: 'success',
      [T_REL]: 'success',
      [CUSTOMERS]: 'error',
      [T_ORDERS_UNIQUE]: 'error',
      [U_TOTALS]: 'skipped',
      [PAYMENTS]: 'skipped',
    });
  });

  it('decodes canceled as skipped: a resume treats a node that never ran like one dbt skipped', () => {
    const decoded = decodeCheckpoint(index, encodeCheckpoint(index, state({ finished: new Map([[ORDERS, 'canceled']]) })));
    expect(Object.fromEntries(decoded.finished)).toEqual({ [ORDERS]: 'skipped' });
  });

  it('gives partial results back with their real statuses', () => {
    const partials: PartialReport[] = [
      { uniqueId: ORDERS, node: result(ORDERS, 'success'), tests: [result(T_ORDERS_UNIQUE, 'fail'), result(T_REL, 'warn')] },
      { uniqueId: CUSTOMERS, tests: [result(T_REL, 'warn')] },
    ];
    const finished = new Map<string, ResultStatus>([
      [ORDERS, 'success'],
      [T_ORDERS_UNIQUE, 'fail'],
      [T_REL, 'warn'],
    ]);
    const decoded = decodeCheckpoint(index, encodeCheckpoint(index, state({ finished, partials })));
    expect(Object.fromEntries(decoded.finished)).toEqual({ [ORDERS]: 'success', [T_ORDERS_UNIQUE]: 'fail', [T_REL]: 'warn' });
    expect(decoded.partials).toEqual(partials);
  });

  it('takes statuses from partial results even for nodes missing from succeeded / failed / skipped', () => {
    const cp: BuildCheckpoint = { reported: [], succeeded: [], failed: [], skipped: [], partials: [{ uniqueId: ORDERS, node: result(ORDERS, 'not_run'), tests: [] }] };
    expect(Object.fromEntries(decodeCheckpoint(index, cp).finished)).toEqual({ [ORDERS]: 'not_run' });
  });

  it('lets a partial result override the coarse status of its list', () => {
    const at = (id: string) => index.indexOf(id);
    const cp: BuildCheckpoint = {
      reported: [],
      succeeded: [at(T_REL)],
      failed: [at(T_ORDERS_UNIQUE)],
      skipped: [at(U_TOTALS)],
      partials: [{ uniqueId: ORDERS, tests: [result(T_REL, 'warn'), result(T_ORDERS_UNIQUE, 'fail'), result(U_TOTALS, 'not_run')] }],
    };
    expect(Object.fromEntries(decodeCheckpoint(index, cp).finished)).toEqual({ [T_REL]: 'warn', [T_ORDERS_UNIQUE]: 'fail', [U_TOTALS]: 'not_run' });
  });

  it('ignores indices outside the node list', () => {
    const cp: BuildCheckpoint = { reported: [99, 2, -1], succeeded: [0, 42], failed: [7, 1000], skipped: [-3, 8], partials: [] };
    const decoded = decodeCheckpoint(index, cp);
    expect(decoded.reported).toEqual([PAYMENTS]);
    expect(Object.fromEntries(decoded.finished)).toEqual({ [ORDERS]: 'success' });
  });

  it('decodes an empty checkpoint to nothing', () => {
    const decoded = decodeCheckpoint(index, { reported: [], succeeded: [], failed: [], skipped: [], partials: [] });
    expect(decoded).toEqual({ invocationId: undefined, reported: [], finished: new Map(), partials: [], dbtExitCode: undefined });
  });

  it('round-trips a real tracker into a fresh one that reports nothing twice', () => {
    const first = new ReportTracker(CONSUMERS);
    const reports = [
      ...first.record(result(PAYMENTS), 1),
      ...first.record(result(ORDERS), 2),
      ...first.record(result(T_REL, 'fail'), 3),
      ...first.record(result(T_ORDERS_ID), 4),
    ];
    expect(reports.map((r) => r.uniqueId)).toEqual([PAYMENTS]);
    const cp = encodeCheckpoint(index, {
      invocationId: 'inv-1',
      reported: first.completedConsumers(),
      finished: first.finishedStatuses(),
      partials: first.openPartials(),
    });
    const decoded = decodeCheckpoint(index, JSON.parse(JSON.stringify(cp)) as BuildCheckpoint);
    expect(decoded.reported).toEqual([PAYMENTS]);
    expect(Object.fromEntries(decoded.finished)).toEqual({ [PAYMENTS]: 'success', [ORDERS]: 'success', [T_REL]: 'fail', [T_ORDERS_ID]: 'pass' });

    const second = new ReportTracker(CONSUMERS, () => 'inv-2');
    second.restore(decoded);
    expect(second.completeReady(10)).toEqual([]);
    expect(second.record(result(PAYMENTS), 11)).toEqual([]);
    expect(second.record(result(CUSTOMERS), 12).map((r) => r.uniqueId)).toEqual([CUSTOMERS]);
    expect(second.record(result(U_TOTALS), 13)).toEqual([]);
    const [orders] = second.record(result(T_ORDERS_UNIQUE), 14);
    expect(orders!.uniqueId).toBe(ORDERS);
    expect(orders!.tests.map((t) => [t.uniqueId, t.status])).toEqual([
      [T_ORDERS_ID, 'pass'],
      [T_REL, 'fail'],
      [U_TOTALS, 'pass'],
      [T_ORDERS_UNIQUE, 'pass'],
    ]);
    expect(second.openCount()).toBe(0);
    expect(second.completeAll('not_run', 'x', true, 15)).toEqual([]);
  });

  it('round-trips a consumer dbt skipped, and a test it never ran, as skipped', () => {
    const first = new ReportTracker(CONSUMERS);
    first.record(result(CUSTOMERS, 'skipped'), 1);
    first.record(result(T_REL, 'skipped'), 2);
    first.record(result(ORDERS, 'error'), 3);
    const cp = encodeCheckpoint(index, { reported: first.completedConsumers(), finished: first.finishedStatuses(), partials: [] });
    expect(cp.skipped.map((i) => index[i]).sort()).toEqual([CUSTOMERS, T_REL].sort());
    expect(cp.failed.map((i) => index[i])).toEqual([ORDERS]);
    const decoded = decodeCheckpoint(index, JSON.parse(JSON.stringify(cp)) as BuildCheckpoint);
    expect(decoded.reported).toEqual([CUSTOMERS]);
    expect(Object.fromEntries(decoded.finished)).toEqual({ [CUSTOMERS]: 'skipped', [T_REL]: 'skipped', [ORDERS]: 'error' });
  });
});

describe('isCheckpoint', () => {
  const valid: BuildCheckpoint = { reported: [], succeeded: [], failed: [], skipped: [], partials: [] };
  const LISTS = ['reported', 'succeeded', 'failed', 'skipped'] as const;

  it('accepts a checkpoint, with or without the optional fields', () => {
    expect(isCheckpoint(valid)).toBe(true);
    expect(isCheckpoint({ ...valid, invocationId: 'x', dbtExitCode: null })).toBe(true);
    expect(isCheckpoint(encodeCheckpoint(checkpointIndex(CONSUMERS), state({ reported: [ORDERS] })))).toBe(true);
  });

  it('refuses what is not an object', () => {
    for (const v of [undefined, null, 0, 1, '', 'checkpoint', true, false, [], [valid], () => valid]) expect(isCheckpoint(v)).toBe(false);
  });

  it('refuses an object with a missing field', () => {
    expect(isCheckpoint({})).toBe(false);
    for (const key of [...LISTS, 'partials'] as const) {
      const partial: Record<string, unknown> = { ...valid };
      delete partial[key];
      expect(isCheckpoint(partial), key).toBe(false);
    }
  });

  it('refuses an object whose fields are not arrays', () => {
    for (const key of [...LISTS, 'partials'] as const) {
      for (const wrong of [null, undefined, 3, 'a', {}, { length: 0 }]) {
        expect(isCheckpoint({ ...valid, [key]: wrong }), `${key}=${JSON.stringify(wrong)}`).toBe(false);
      }
    }
  });

  it('refuses a checkpoint from before skipped nodes were recorded (the attempt starts from scratch)', () => {
    expect(isCheckpoint({ reported: [0], succeeded: [1], failed: [2], partials: [] })).toBe(false);
  });

  it('accepts indices that are non-negative integers, in every list', () => {
    for (const key of LISTS) expect(isCheckpoint({ ...valid, [key]: [0, 1, 7, 1000] }), key).toBe(true);
  });

  it('refuses an index that is not a non-negative integer, in every list', () => {
    for (const key of LISTS) {
      for (const wrong of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '0', null, undefined, {}, [0]]) {
        expect(isCheckpoint({ ...valid, [key]: [0, wrong] }), `${key}: ${String(wrong)}`).toBe(false);
      }
    }
  });

  it('accepts partials with a string uniqueId and a tests array, with or without a node', () => {
    const partials: PartialReport[] = [
      { uniqueId: ORDERS, node: result(ORDERS), tests: [result(T_ORDERS_ID)] },
      { uniqueId: CUSTOMERS, tests: [] },
    ];
    expect(isCheckpoint({ ...valid, partials })).toBe(true);
  });

  it('refuses partials that are not objects with a string uniqueId and a tests array', () => {
    for (const wrong of [null, undefined, 0, 'model.shop.orders', [], {}, { uniqueId: ORDERS }, { tests: [] }, { uniqueId: 3, tests: [] }, { uniqueId: ORDERS, tests: {} }, { uniqueId: ORDERS, tests: null }]) {
      expect(isCheckpoint({ ...valid, partials: [{ uniqueId: CUSTOMERS, tests: [] }, wrong] }), JSON.stringify(wrong) ?? String(wrong)).toBe(false);
    }
  });

  it('refuses heartbeat details of another shape (an array of details)', () => {
    expect(isCheckpoint([valid.reported, valid.succeeded])).toBe(false);
  });
});
