// What the pipeline page charts of a pipeline's executions, and how states and thresholds read.
import { describe, expect, it } from 'vitest';
import { configText, metricSeries, STATE_LABELS, thresholdText, type PipelineExecution } from '../../src/dashboard/monitoring-view.js';
import { FRESHNESS_STATES, TIMELINESS_STATES } from '../../src/monitoring/pipeline-health.js';

const execution = (id: number, start: string, values: Partial<PipelineExecution> = {}): PipelineExecution => ({
  id,
  status: 'success',
  start_date: start,
  end_date: null,
  duration_seconds: 10,
  total_rows: 100,
  throughput: 10,
  anomalous: [],
  ...values,
});

describe('metricSeries', () => {
  const runs = [
    execution(3, '2026-06-10T12:00:00Z', { total_rows: 100_000, throughput: 10_000, anomalous: ['throughput', 'total_rows'] }),
    execution(1, '2026-06-10T10:00:00Z'),
    execution(2, '2026-06-10T11:00:00Z', { status: 'error', total_rows: null, throughput: null, duration_seconds: 2 }),
  ];

  it('lists the executions with a value, oldest first, and apart the ones flagged for that metric', () => {
    const rows = metricSeries(runs, 'total_rows');
    expect(rows.points.map((p) => [p.executionId, p.value])).toEqual([[1, 100], [3, 100_000]]);
    expect(rows.anomalies).toEqual([{ t: Date.parse('2026-06-10T12:00:00Z'), value: 100_000, executionId: 3, status: 'success' }]);
    const durations = metricSeries(runs, 'duration_seconds');
    expect(durations.points.map((p) => p.executionId)).toEqual([1, 2, 3]);
    expect(durations.anomalies).toEqual([]);
  });

  it('is empty without executions', () => {
    expect(metricSeries([], 'throughput')).toEqual({ points: [], anomalies: [] });
  });
});

describe('labels', () => {
  it('has words, a colour and a hint for every state the API gives', () => {
    for (const state of [...FRESHNESS_STATES, ...TIMELINESS_STATES]) expect(STATE_LABELS[state], state).toMatchObject({ text: expect.any(String), colour: expect.stringMatching(/^#/), hint: expect.any(String) });
  });

  it('writes thresholds with their unit and whose they are', () => {
    expect(thresholdText({ number: 1, datepart: 'day', from: 'pipeline' })).toBe('1 day');
    expect(thresholdText({ number: 30, datepart: 'minute', from: 'pipeline_type' })).toBe('30 minutes (from its type)');
    expect(thresholdText(null)).toBe('none');
    expect(configText({ number: 2, datepart: 'hour' })).toBe('2 hours');
    expect(configText(null)).toBe('not set');
  });
});
