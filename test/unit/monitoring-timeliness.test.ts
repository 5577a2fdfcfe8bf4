import { describe, expect, it } from 'vitest';
import { decideTimeliness } from '../../src/monitoring/timeliness.js';

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
