import { describe, expect, it } from 'vitest';
import {
  consumerVerdict,
  FailureTypes,
  isPassingNodeStatus,
  isTerminalNodeStatus,
  NODE_STATUSES,
  normalizeDbtStatus,
  type NodeStatus,
  type ResultLike,
  type ResultStatus,
} from '../../src/contracts/status.js';

const r = (status: ResultStatus): ResultLike => ({ status });

describe('normalizeDbtStatus', () => {
  it.each([
    ['success', 'success'],
    ['no-op', 'success'],
    ['pass', 'pass'],
    ['warn', 'warn'],
    ['fail', 'fail'],
    ['error', 'error'],
    ['runtime error', 'error'],
    ['partial success', 'error'],
    ['skipped', 'skipped'],
  ] as const)('maps dbt status %j to %j', (raw, expected) => {
    expect(normalizeDbtStatus(raw)).toBe(expected);
  });

  it.each(['started', 'compiling', 'executing', 'reused', 'Success', 'SUCCESS', '', 'pass ', 'something-new'])(
    'treats unknown or non-terminal status %j as error so it can never turn green',
    (raw) => {
      expect(normalizeDbtStatus(raw)).toBe('error');
    },
  );

  it.each([
    'Skipping due to fail_fast',
    'skipped because of --fail-fast',
    'FAIL FAST triggered',
    'failfast',
    'Fail-Fast: an upstream node failed',
  ])('reads skipped with a fail-fast message (%j) as not_run', (message) => {
    expect(normalizeDbtStatus('skipped', message)).toBe('not_run');
  });

  it.each([undefined, null, '', 'upstream model failed', 'skipped due to upstream error'])(
    'keeps skipped with message %j as skipped',
    (message) => {
      expect(normalizeDbtStatus('skipped', message)).toBe('skipped');
    },
  );

  it('only lets the fail-fast message change a skipped status', () => {
    expect(normalizeDbtStatus('error', 'fail_fast')).toBe('error');
    expect(normalizeDbtStatus('success', 'fail_fast')).toBe('success');
    expect(normalizeDbtStatus('fail', 'fail fast')).toBe('fail');
  });
});

describe('consumerVerdict: the node decides first', () => {
  it.each([
    ['error', { status: 'error', failureType: FailureTypes.nodeError }],
    ['fail', { status: 'error', failureType: FailureTypes.nodeError }],
    ['skipped', { status: 'skipped', failureType: FailureTypes.nodeSkipped }],
    ['not_run', { status: 'not_run', failureType: FailureTypes.nodeNotRun }],
    ['canceled', { status: 'canceled' }],
  ] as const)('a node that is %j wins over any test result', (nodeStatus, expected) => {
    const tests = [r('error'), r('fail'), r('warn'), r('pass')];
    expect(consumerVerdict(r(nodeStatus), tests)).toEqual(expected);
    expect(consumerVerdict(r(nodeStatus), [])).toEqual(expected);
  });

  it('a canceled node carries no failure type', () => {
    expect(consumerVerdict(r('canceled'), [r('error')]).failureType).toBeUndefined();
  });
});

describe('consumerVerdict: then the worst test', () => {
  it('is success for a successful node without tests', () => {
    expect(consumerVerdict(r('success'), [])).toEqual({ status: 'success' });
  });

  it('is success when every test passes', () => {
    expect(consumerVerdict(r('success'), [r('pass'), r('pass'), r('success')])).toEqual({ status: 'success' });
  });

  it('a test error beats every other test status', () => {
    const tests = [r('pass'), r('warn'), r('canceled'), r('not_run'), r('skipped'), r('fail'), r('error')];
    expect(consumerVerdict(r('success'), tests)).toEqual({ status: 'error', failureType: FailureTypes.testError });
  });

  it('a failing test beats skipped, not_run, canceled and warn', () => {
    const tests = [r('warn'), r('canceled'), r('not_run'), r('skipped'), r('fail'), r('pass')];
    expect(consumerVerdict(r('success'), tests)).toEqual({ status: 'fail', failureType: FailureTypes.testFailed });
  });

  it('a skipped test beats not_run, canceled and warn', () => {
    const tests = [r('warn'), r('canceled'), r('not_run'), r('skipped')];
    expect(consumerVerdict(r('success'), tests)).toEqual({ status: 'skipped', failureType: FailureTypes.nodeSkipped });
  });

  it('a not_run test beats canceled and warn', () => {
    const tests = [r('warn'), r('canceled'), r('not_run'), r('pass')];
    expect(consumerVerdict(r('success'), tests)).toEqual({ status: 'not_run', failureType: FailureTypes.nodeNotRun });
  });

  it('a canceled test beats warn and carries no failure type', () => {
    expect(consumerVerdict(r('success'), [r('warn'), r('canceled')])).toEqual({ status: 'canceled' });
  });

  it('a warning test makes the verdict warn', () => {
    expect(consumerVerdict(r('success'), [r('pass'), r('warn')])).toEqual({ status: 'warn' });
  });

  it('a node that warns makes the verdict warn even when every test passes', () => {
    expect(consumerVerdict(r('warn'), [r('pass')])).toEqual({ status: 'warn' });
    expect(consumerVerdict(r('warn'), [])).toEqual({ status: 'warn' });
  });

  it('a node that warns still fails on a failing test', () => {
    expect(consumerVerdict(r('warn'), [r('fail')])).toEqual({ status: 'fail', failureType: FailureTypes.testFailed });
  });

  it('a node that passes (a seed or snapshot reported as pass) with passing tests is success', () => {
    expect(consumerVerdict(r('pass'), [r('pass')])).toEqual({ status: 'success' });
  });

  it('does not depend on the order of the tests', () => {
    const tests = [r('warn'), r('fail'), r('skipped')];
    expect(consumerVerdict(r('success'), tests)).toEqual(consumerVerdict(r('success'), [...tests].reverse()));
  });
});

describe('isTerminalNodeStatus / isPassingNodeStatus', () => {
  const terminal: NodeStatus[] = ['success', 'warn', 'error', 'fail', 'skipped', 'not_run', 'canceled'];
  const passing: NodeStatus[] = ['success', 'warn'];

  it.each(NODE_STATUSES)('classifies %j', (status) => {
    expect(isTerminalNodeStatus(status)).toBe(terminal.includes(status));
    expect(isPassingNodeStatus(status)).toBe(passing.includes(status));
  });

  it('pending and running are the only non-terminal statuses', () => {
    expect(NODE_STATUSES.filter((s) => !isTerminalNodeStatus(s))).toEqual(['pending', 'running']);
  });

  it('every passing status is terminal', () => {
    for (const s of NODE_STATUSES) if (isPassingNodeStatus(s)) expect(isTerminalNodeStatus(s)).toBe(true);
  });

  it('every verdict a consumer can reach is terminal', () => {
    const statuses: ResultStatus[] = ['success', 'pass', 'warn', 'error', 'fail', 'skipped', 'not_run', 'canceled'];
    for (const node of statuses)
      for (const test of statuses) {
        const verdict = consumerVerdict(r(node), [r(test)]);
        expect(isTerminalNodeStatus(verdict.status)).toBe(true);
        // a verdict passes exactly when it carries no failure type, except canceled
        if (verdict.status !== 'canceled') expect(isPassingNodeStatus(verdict.status)).toBe(verdict.failureType === undefined);
      }
  });
});
