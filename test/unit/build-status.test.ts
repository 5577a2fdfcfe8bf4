// A build's status in the API: the record's, or Temporal's view when the record is missing or stale.
import { describe, expect, it } from 'vitest';
import { buildStatus } from '../../src/server/routes/builds.js';

describe('buildStatus', () => {
  it('takes the recorded status when there is one', () => {
    expect(buildStatus('warn', 'COMPLETED')).toBe('warn');
    expect(buildStatus('canceled', undefined)).toBe('canceled');
    expect(buildStatus('running', 'RUNNING')).toBe('running');
    expect(buildStatus('running', undefined)).toBe('running');
  });

  it("takes Temporal's view when nothing is recorded yet, or the end was not recorded", () => {
    expect(buildStatus(undefined, 'RUNNING')).toBe('running');
    expect(buildStatus(undefined, undefined)).toBe('running');
    expect(buildStatus('running', 'COMPLETED')).toBe('success');
    expect(buildStatus('running', 'FAILED')).toBe('error');
    expect(buildStatus('running', 'TIMED_OUT')).toBe('error');
    expect(buildStatus(undefined, 'CANCELLED')).toBe('canceled');
    expect(buildStatus(undefined, 'TERMINATED')).toBe('canceled');
  });
});
