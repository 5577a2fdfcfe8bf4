import { describe, expect, it } from 'vitest';
import { checkInputSchema } from '../../src/contracts/checks.js';
import { decideFailureRate, DEFAULT_FAILURE_RATE_RULE, windowBucketEnd } from '../../src/monitoring/failure-rate.js';

const rule = DEFAULT_FAILURE_RATE_RULE;

describe('decideFailureRate', () => {
  it('judges only pipelines with enough executions in the window', () => {
    expect(decideFailureRate({ total: 0, failed: 0 }, rule)).toEqual({ kind: 'skip', reason: 'too_few_executions' });
    expect(decideFailureRate({ total: 4, failed: 4 }, rule)).toEqual({ kind: 'skip', reason: 'too_few_executions' });
    expect(decideFailureRate({ total: 4, failed: 3 }, { ...rule, minExecutions: 4 })).toEqual({ kind: 'failing', percent: 75 });
  });

  it('fails strictly above the threshold: 20% of 5 is not more than 20%', () => {
    expect(decideFailureRate({ total: 5, failed: 1 }, rule)).toEqual({ kind: 'ok', percent: 20 });
    expect(decideFailureRate({ total: 5, failed: 2 }, rule)).toEqual({ kind: 'failing', percent: 40 });
    expect(decideFailureRate({ total: 10, failed: 0 }, rule)).toEqual({ kind: 'ok', percent: 0 });
    expect(decideFailureRate({ total: 10, failed: 1 }, { ...rule, thresholdPercent: 0 })).toEqual({ kind: 'failing', percent: 10 });
  });
});

describe('windowBucketEnd', () => {
  it('is the end of the fixed window the moment falls in (24 h: the next UTC midnight)', () => {
    expect(windowBucketEnd(new Date('2026-12-02T11:20:00Z'), 1440).toISOString()).toBe('2026-12-03T00:00:00.000Z');
    expect(windowBucketEnd(new Date('2026-12-02T23:59:59.999Z'), 1440).toISOString()).toBe('2026-12-03T00:00:00.000Z');
    expect(windowBucketEnd(new Date('2026-12-03T00:00:00Z'), 1440).toISOString()).toBe('2026-12-04T00:00:00.000Z');
    expect(windowBucketEnd(new Date('2026-12-02T11:20:00Z'), 60).toISOString()).toBe('2026-12-02T12:00:00.000Z');
  });

  it('is the same for every run of the check inside one window, so the alert key repeats', () => {
    const runs = ['2026-12-02T00:15:00Z', '2026-12-02T12:00:00Z', '2026-12-02T23:45:00Z'].map((t) => windowBucketEnd(new Date(t), 1440).getTime());
    expect(new Set(runs).size).toBe(1);
  });
});

describe('failure-rate check input', () => {
  it('fills the defaults and names a bad field', () => {
    expect(checkInputSchema().parse({ check: 'failures' })).toEqual({ check: 'failures', thresholdPercent: 20, windowMinutes: 1440, minExecutions: 5 });
    const bad = checkInputSchema().safeParse({ check: 'failures', thresholdPercent: 100 });
    expect(bad.success).toBe(false);
    expect(JSON.stringify(bad.error?.issues[0]?.path)).toContain('thresholdPercent');
    expect(checkInputSchema().safeParse({ check: 'failures', lookbackMinutes: 5 }).success).toBe(false);
    expect(checkInputSchema().safeParse({ check: 'timeliness', lookbackMinutes: 4 }).success).toBe(false);
  });
});
