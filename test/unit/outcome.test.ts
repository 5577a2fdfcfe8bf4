import { ApplicationFailure, DefaultFailureConverter, defaultPayloadConverter } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import type { BuildProgress, NodeOutcome } from '../../src/contracts/messages.js';
import {
  buildFailure,
  buildProgressOfFailure,
  endedNodeStatus,
  FailuresNotRetried,
  FailureTypes,
  isTerminalNodeStatus,
  NODE_STATUSES,
  nodeFailure,
  nodeOutcomeOfFailure,
  statusOfFailureWithoutOutcome,
} from '../../src/contracts/status.js';

const outcome: NodeOutcome = {
  uniqueId: 'model.shop.orders',
  resourceType: 'model',
  status: 'error',
  attempt: 1,
  node: { uniqueId: 'model.shop.orders', resourceType: 'model', status: 'error', dbtStatus: 'error', source: 'event', message: 'boom' },
  tests: [],
  message: 'boom',
};
const progress: BuildProgress = {
  buildId: 'b1',
  phase: 'failed',
  nodes: [{ uniqueId: 'model.shop.orders', resourceType: 'model', status: 'error' }],
  counts: { error: 1 },
};

/** What the other end of Temporal sees: the failure as it comes back from its proto form. */
function throughTemporal(err: ApplicationFailure): Error {
  const converter = new DefaultFailureConverter();
  return converter.failureToError(converter.errorToFailure(err, defaultPayloadConverter), defaultPayloadConverter);
}

describe('FailuresNotRetried', () => {
  // Each set is the nonRetryableErrorTypes of retry policies recorded in workflow histories.
  it('names the failures a retry cannot fix, per kind of retried work', () => {
    expect(FailuresNotRetried).toEqual({
      dbtActivity: ['DbtInvocationError', 'InvalidInput'],
      consumer: ['InvalidInput', 'UpstreamFailed', 'NodeCanceled'],
      recordingActivity: ['RecordingError'],
    });
  });
});

describe('endedNodeStatus', () => {
  it.each(['pending', 'running'] as const)('counts %j (never got a result) as not_run', (status) => {
    expect(endedNodeStatus(status)).toBe('not_run');
  });

  it('keeps every status something can end with', () => {
    for (const status of NODE_STATUSES.filter(isTerminalNodeStatus)) expect(endedNodeStatus(status)).toBe(status);
  });
});

describe('statusOfFailureWithoutOutcome', () => {
  it('is skipped for an upstream that failed, error for anything else', () => {
    expect(statusOfFailureWithoutOutcome(FailureTypes.upstreamFailed)).toBe('skipped');
    expect(statusOfFailureWithoutOutcome(FailureTypes.invalidInput)).toBe('error');
    expect(statusOfFailureWithoutOutcome('ActivityFailure')).toBe('error');
    expect(statusOfFailureWithoutOutcome(undefined)).toBe('error');
  });
});

describe('a consumer failure carries its outcome', () => {
  it('packs the type, message, retryability and outcome', () => {
    const failure = nodeFailure(FailureTypes.nodeError, 'model.shop.orders: error: boom', outcome, false);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'NodeError', message: 'model.shop.orders: error: boom', nonRetryable: false });
    expect(nodeFailure(FailureTypes.nodeCanceled, 'canceled', outcome, true).nonRetryable).toBe(true);
  });

  it('reads the outcome back, also after Temporal carried the failure', () => {
    const failure = nodeFailure(FailureTypes.nodeError, 'x', outcome, false);
    expect(nodeOutcomeOfFailure(failure)).toEqual(outcome);
    expect(nodeOutcomeOfFailure(throughTemporal(failure))).toEqual(outcome);
  });

  it('reads nothing from something that is not an outcome', () => {
    expect(nodeOutcomeOfFailure(ApplicationFailure.nonRetryable('x', 'T', { uniqueId: 'a', status: 'error' }))).toBeUndefined();
    expect(nodeOutcomeOfFailure(buildFailure(FailureTypes.buildFailed, 'x', progress))).toBeUndefined();
  });
});

describe('a build failure carries its per-node summary', () => {
  it('packs the type and message, never retried', () => {
    const failure = buildFailure(FailureTypes.buildFailed, '1 of 1 nodes did not pass', progress);
    expect(failure).toMatchObject({ type: 'BuildFailed', message: '1 of 1 nodes did not pass', nonRetryable: true });
  });

  it('reads the summary back, also after Temporal carried the failure', () => {
    const failure = buildFailure(FailureTypes.dbtInvocation, 'dbt failed', progress);
    expect(buildProgressOfFailure(failure)).toEqual(progress);
    expect(buildProgressOfFailure(throughTemporal(failure))).toEqual(progress);
  });

  it('reads nothing from something that is not a summary', () => {
    expect(buildProgressOfFailure(ApplicationFailure.nonRetryable('x', 'T', { buildId: 'b1' }))).toBeUndefined();
    expect(buildProgressOfFailure(nodeFailure(FailureTypes.nodeError, 'x', outcome, false))).toBeUndefined();
  });
});

describe('a failure that carries nothing', () => {
  it.each([
    ['nothing', undefined],
    ['a plain error', new Error('x')],
    ['a failure without details', ApplicationFailure.nonRetryable('x', FailureTypes.upstreamFailed)],
    ['a failure with a string detail', ApplicationFailure.nonRetryable('x', 'T', 'a string')],
  ])('gives neither an outcome nor a summary: %s', (_, failure) => {
    expect(nodeOutcomeOfFailure(failure)).toBeUndefined();
    expect(buildProgressOfFailure(failure)).toBeUndefined();
  });
});
