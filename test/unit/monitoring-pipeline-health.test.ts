// A pipeline's freshness and timeliness state as the dashboard shows it (the checks' own
// decisions), which pipelines need attention, and what an alert's key is about.
import { describe, expect, it } from 'vitest';
import { alertSubject, freshnessOf, needsAttention, timelinessOf, type CheckSettings } from '../../src/monitoring/pipeline-health.js';

const none = { number: null, datepart: null };
const at = (s: string) => new Date(s);
const now = at('2026-06-10T12:00:00Z');
const settings = (own: CheckSettings['own'], type: CheckSettings['type'] = none, muted = false): CheckSettings => ({ own, type, muted });

describe('freshnessOf', () => {
  it('is fresh until last DML + threshold, then stale, with the due moment and whose threshold', () => {
    const day = settings({ number: 1, datepart: 'day' });
    expect(freshnessOf({ lastDml: at('2026-06-10T00:00:00Z'), freshness: day }, now)).toEqual({
      state: 'fresh',
      last_dml: '2026-06-10T00:00:00.000Z',
      due_by: '2026-06-11T00:00:00.000Z',
      threshold: { number: 1, datepart: 'day', from: 'pipeline' },
    });
    expect(freshnessOf({ lastDml: at('2026-06-09T11:59:59Z'), freshness: day }, now)).toMatchObject({ state: 'stale', due_by: '2026-06-10T11:59:59.000Z' });
  });

  it("uses the type's threshold when the pipeline has none", () => {
    const typeOnly = settings(none, { number: 2, datepart: 'hour' });
    expect(freshnessOf({ lastDml: at('2026-06-10T09:00:00Z'), freshness: typeOnly }, now)).toMatchObject({ state: 'stale', threshold: { number: 2, datepart: 'hour', from: 'pipeline_type' } });
  });

  it('says why it is not judged: muted, never written, no threshold', () => {
    expect(freshnessOf({ lastDml: at('2026-01-01T00:00:00Z'), freshness: settings({ number: 1, datepart: 'day' }, none, true) }, now)).toMatchObject({ state: 'muted', due_by: null });
    expect(freshnessOf({ lastDml: null, freshness: settings({ number: 1, datepart: 'day' }) }, now)).toMatchObject({ state: 'never_written', last_dml: null, due_by: null });
    expect(freshnessOf({ lastDml: at('2026-01-01T00:00:00Z'), freshness: settings(none) }, now)).toEqual({ state: 'no_threshold', last_dml: '2026-01-01T00:00:00.000Z', due_by: null, threshold: null });
  });
});

describe('timelinessOf (the latest execution)', () => {
  const halfHour = settings({ number: 30, datepart: 'minute' });
  const run = (start: string, end: string | null, ok: boolean | null) => ({ startDate: at(start), endDate: end ? at(end) : null, completedSuccessfully: ok });

  it('is on time, late (ended past due) or running late', () => {
    expect(timelinessOf({ timeliness: halfHour, latest: run('2026-06-10T11:00:00Z', '2026-06-10T11:10:00Z', true) }, now)).toMatchObject({ state: 'on_time', due_by: '2026-06-10T11:30:00.000Z' });
    expect(timelinessOf({ timeliness: halfHour, latest: run('2026-06-10T11:00:00Z', '2026-06-10T11:31:00Z', true) }, now)).toMatchObject({ state: 'late' });
    expect(timelinessOf({ timeliness: halfHour, latest: run('2026-06-10T11:00:00Z', null, null) }, now)).toMatchObject({ state: 'running_late' });
    expect(timelinessOf({ timeliness: halfHour, latest: run('2026-06-10T11:45:00Z', null, null) }, now)).toMatchObject({ state: 'on_time', due_by: '2026-06-10T12:15:00.000Z' });
  });

  it('does not judge a failed run, a muted pipeline, one without a threshold or without runs', () => {
    expect(timelinessOf({ timeliness: halfHour, latest: run('2026-06-10T09:00:00Z', '2026-06-10T11:00:00Z', false) }, now)).toMatchObject({ state: 'last_failed' });
    expect(timelinessOf({ timeliness: settings({ number: 30, datepart: 'minute' }, none, true), latest: run('2026-06-10T09:00:00Z', null, null) }, now)).toMatchObject({ state: 'muted' });
    expect(timelinessOf({ timeliness: settings(none), latest: run('2026-06-10T09:00:00Z', null, null) }, now)).toMatchObject({ state: 'no_threshold', threshold: null });
    expect(timelinessOf({ timeliness: halfHour, latest: null }, now)).toMatchObject({ state: 'no_executions' });
  });
});

describe('needsAttention', () => {
  const ok = { freshness: { state: 'fresh' as const, last_dml: null, due_by: null, threshold: null }, timeliness: { state: 'on_time' as const, due_by: null, threshold: null }, open_anomalies: 0 };
  it('flags stale, late, running late and open anomalies; nothing else', () => {
    expect(needsAttention(ok)).toBe(false);
    expect(needsAttention({ ...ok, freshness: { ...ok.freshness, state: 'stale' } })).toBe(true);
    expect(needsAttention({ ...ok, timeliness: { ...ok.timeliness, state: 'late' } })).toBe(true);
    expect(needsAttention({ ...ok, timeliness: { ...ok.timeliness, state: 'running_late' } })).toBe(true);
    expect(needsAttention({ ...ok, timeliness: { ...ok.timeliness, state: 'last_failed' } })).toBe(false);
    expect(needsAttention({ ...ok, open_anomalies: 2 })).toBe(true);
  });
});

describe('alertSubject', () => {
  it("reads each alert key's subject", () => {
    expect(alertSubject('freshness:12:2026-12-02T09:00:00.000Z')).toEqual({ pipelineId: 12 });
    expect(alertSubject('failure_rate:7:2026-12-03T00:00:00.000Z')).toEqual({ pipelineId: 7 });
    expect(alertSubject('anomaly:9001:3')).toEqual({ executionId: 9001 });
    expect(alertSubject('timeliness:build:watcher/b-1:run-9/node:model.shop.fct_orders/attempt:1')).toEqual({ executionKey: 'build:watcher/b-1:run-9/node:model.shop.fct_orders/attempt:1' });
    expect(alertSubject('source_freshness:source.shop.raw.orders:2026-12-02T09:00:00Z')).toEqual({ pipelineName: 'source.shop.raw.orders' });
    expect(alertSubject('node_failed:watcher/b-1:0f8e-run:model.shop.broken')).toEqual({ pipelineName: 'model.shop.broken' });
    expect(alertSubject('build_failed:watcher/b-1:0f8e-run')).toEqual({ buildId: 'b-1' });
  });

  it('names nothing for a key it cannot read', () => {
    expect(alertSubject('freshness:not-a-number:x')).toEqual({});
    expect(alertSubject('node_failed:watcher/b-1:run:model.shop.very_long_name_cut#1a2b3c4d')).toEqual({});
    expect(alertSubject('something_else:1')).toEqual({});
    expect(alertSubject('no-colon')).toEqual({});
  });
});
