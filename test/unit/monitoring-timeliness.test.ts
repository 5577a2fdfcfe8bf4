import { describe, expect, it } from 'vitest';
import { decideTimeliness, lateFinding, type LateDecision } from '../../src/monitoring/timeliness.js';

const none = { number: null, datepart: null };
const at = (s: string) => new Date(s);
const now = at('2026-06-10T12:00:00Z');
const thirtyMinutes = { own: { number: 30, datepart: 'minute' as const }, type: none };

describe('decideTimeliness', () => {
  it('flags a running execution past its threshold as running', () => {
    const d = decideTimeliness({ ...thirtyMinutes, startDate: at('2026-06-10T11:20:00Z'), endDate: null, completedSuccessfully: null }, now);
    expect(d).toMatchObject({ kind: 'late', status: 'running', durationSeconds: 2400, secondsThreshold: 1800 });
  });

  it('flags a successful execution that ended past its threshold as completed', () => {
    const d = decideTimeliness({ ...thirtyMinutes, startDate: at('2026-06-10T11:00:00Z'), endDate: at('2026-06-10T11:45:00Z'), completedSuccessfully: true }, now);
    expect(d).toMatchObject({ kind: 'late', status: 'completed', durationSeconds: 2700 });
  });

  it('keeps executions within the threshold, ignores failed ones and those without a threshold', () => {
    expect(decideTimeliness({ ...thirtyMinutes, startDate: at('2026-06-10T11:50:00Z'), endDate: null, completedSuccessfully: null }, now).kind).toBe('on_time');
    expect(decideTimeliness({ ...thirtyMinutes, startDate: at('2026-06-10T11:00:00Z'), endDate: at('2026-06-10T11:30:00Z'), completedSuccessfully: true }, now).kind).toBe('on_time');
    expect(decideTimeliness({ ...thirtyMinutes, startDate: at('2026-06-10T10:00:00Z'), endDate: at('2026-06-10T11:45:00Z'), completedSuccessfully: false }, now)).toEqual({ kind: 'skip', reason: 'failed' });
    expect(decideTimeliness({ own: none, type: none, startDate: at('2026-06-10T10:00:00Z'), endDate: null, completedSuccessfully: null }, now)).toEqual({ kind: 'skip', reason: 'no_threshold' });
  });

  it("uses the type's threshold when the pipeline has none", () => {
    const d = decideTimeliness({ own: none, type: { number: 1, datepart: 'hour' }, startDate: at('2026-06-10T10:00:00Z'), endDate: null, completedSuccessfully: null }, now);
    expect(d).toMatchObject({ kind: 'late', threshold: { usedChildConfig: false } });
  });
});

describe('lateFinding', () => {
  it('reads a late decision as the finding an alert says, keyed by the execution key (the check and the timers alike)', () => {
    const startDate = at('2026-06-10T11:20:00Z');
    const d = decideTimeliness({ ...thirtyMinutes, startDate, endDate: null, completedSuccessfully: null }, now) as LateDecision;
    expect(lateFinding({ executionKey: 'build:watcher/b:r/node:model.shop.orders', pipelineName: 'model.shop.orders', startDate }, d)).toEqual({
      execution_key: 'build:watcher/b:r/node:model.shop.orders',
      pipeline_name: 'model.shop.orders',
      execution_status: 'running',
      start_date: '2026-06-10T11:20:00.000Z',
      due_by: '2026-06-10T11:50:00.000Z',
      duration_seconds: 2400,
      seconds_threshold: 1800,
      timely_number: 30,
      timely_datepart: 'minute',
      used_child_config: true,
    });
  });

  it('a timer fired a moment early by another clock is still on time: it sleeps again to the due moment', () => {
    const startDate = at('2026-06-10T11:30:00Z');
    expect(decideTimeliness({ ...thirtyMinutes, startDate, endDate: null, completedSuccessfully: null }, now)).toMatchObject({ kind: 'on_time', dueBy: at('2026-06-10T12:00:00Z') });
  });
});
