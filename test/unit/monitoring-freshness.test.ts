import { describe, expect, it } from 'vitest';
import { decideFreshness } from '../../src/monitoring/freshness.js';
import { addDatepart, resolveThreshold } from '../../src/monitoring/thresholds.js';

const none = { number: null, datepart: null };
const at = (s: string) => new Date(s);

describe('resolveThreshold', () => {
  it("prefers the pipeline's own setting, then its type's, else none", () => {
    expect(resolveThreshold({ number: 2, datepart: 'hour' }, { number: 1, datepart: 'day' })).toEqual({ number: 2, datepart: 'hour', usedChildConfig: true });
    expect(resolveThreshold(none, { number: 1, datepart: 'day' })).toEqual({ number: 1, datepart: 'day', usedChildConfig: false });
    expect(resolveThreshold(none, none)).toBeUndefined();
  });
});

describe('addDatepart (calendar arithmetic, UTC)', () => {
  it('adds fixed units', () => {
    expect(addDatepart(at('2026-03-01T00:00:00Z'), 90, 'minute').toISOString()).toBe('2026-03-01T01:30:00.000Z');
    expect(addDatepart(at('2026-03-01T00:00:00Z'), 2, 'week').toISOString()).toBe('2026-03-15T00:00:00.000Z');
  });

  it('adds months and years like Postgres: the day clamped to the month end', () => {
    expect(addDatepart(at('2026-01-31T10:00:00Z'), 1, 'month').toISOString()).toBe('2026-02-28T10:00:00.000Z');
    expect(addDatepart(at('2028-01-31T10:00:00Z'), 1, 'month').toISOString()).toBe('2028-02-29T10:00:00.000Z');
    expect(addDatepart(at('2024-02-29T00:00:00Z'), 1, 'year').toISOString()).toBe('2025-02-28T00:00:00.000Z');
    expect(addDatepart(at('2026-11-15T00:00:00Z'), 3, 'month').toISOString()).toBe('2027-02-15T00:00:00.000Z');
  });
});

describe('decideFreshness', () => {
  const now = at('2026-06-10T12:00:00Z');
  const base = { own: none, type: { number: 1, datepart: 'day' as const }, muted: false };

  it('is stale when last DML + threshold is before now, fresh otherwise', () => {
    expect(decideFreshness({ ...base, lastDml: at('2026-06-09T11:59:59Z') }, now).kind).toBe('stale');
    expect(decideFreshness({ ...base, lastDml: at('2026-06-09T12:00:00Z') }, now).kind).toBe('fresh');
  });

  it('skips muted pipelines, pipelines that never wrote and pipelines without a threshold', () => {
    expect(decideFreshness({ ...base, muted: true, lastDml: at('2020-01-01T00:00:00Z') }, now)).toEqual({ kind: 'skip', reason: 'muted' });
    expect(decideFreshness({ ...base, lastDml: null }, now)).toEqual({ kind: 'skip', reason: 'no_dml' });
    expect(decideFreshness({ ...base, type: none, lastDml: at('2020-01-01T00:00:00Z') }, now)).toEqual({ kind: 'skip', reason: 'no_threshold' });
  });
});
