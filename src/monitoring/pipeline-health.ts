// A pipeline's state as the dashboard shows it, decided by the checks' own rules: freshness by
// decideFreshness (its last DML against its threshold), timeliness by decideTimeliness (its
// latest execution against its threshold). Pure: the store reads the inputs (store/dashboard.ts).
import { decideFreshness } from './freshness.js';
import { resolveThreshold, type CheckConfig, type Datepart, type Threshold } from './thresholds.js';
import { decideTimeliness } from './timeliness.js';

export const FRESHNESS_STATES = ['fresh', 'stale', 'muted', 'never_written', 'no_threshold'] as const;
export type FreshnessState = (typeof FRESHNESS_STATES)[number];

export const TIMELINESS_STATES = ['on_time', 'late', 'running_late', 'last_failed', 'muted', 'no_threshold', 'no_executions'] as const;
export type TimelinessState = (typeof TIMELINESS_STATES)[number];

export interface ThresholdView {
  number: number;
  datepart: Datepart;
  /** Whose setting applies: the pipeline's own, or its type's. */
  from: 'pipeline' | 'pipeline_type';
}

export interface FreshnessView {
  state: FreshnessState;
  last_dml: string | null;
  /** When it turns (or turned) stale: last DML + threshold. */
  due_by: string | null;
  threshold: ThresholdView | null;
}

export interface TimelinessView {
  state: TimelinessState;
  /** The latest execution's start + threshold. */
  due_by: string | null;
  threshold: ThresholdView | null;
}

export interface CheckSettings {
  own: CheckConfig;
  type: CheckConfig;
  /** Muted on the pipeline or on its type. */
  muted: boolean;
}

export interface PipelineCheckInput {
  lastDml: Date | null;
  freshness: CheckSettings;
  timeliness: CheckSettings;
  latest: { startDate: Date; endDate: Date | null; completedSuccessfully: boolean | null } | null;
}

function thresholdView(t: Threshold | undefined): ThresholdView | null {
  return t ? { number: t.number, datepart: t.datepart, from: t.usedChildConfig ? 'pipeline' : 'pipeline_type' } : null;
}

export function freshnessOf(input: Pick<PipelineCheckInput, 'lastDml' | 'freshness'>, now: Date): FreshnessView {
  const s = input.freshness;
  const decision = decideFreshness({ lastDml: input.lastDml, own: s.own, type: s.type, muted: s.muted }, now);
  const lastDml = input.lastDml?.toISOString() ?? null;
  const threshold = thresholdView(resolveThreshold(s.own, s.type));
  if (decision.kind === 'skip') {
    const state = decision.reason === 'muted' ? 'muted' : decision.reason === 'no_dml' ? 'never_written' : 'no_threshold';
    return { state, last_dml: lastDml, due_by: null, threshold };
  }
  return { state: decision.kind, last_dml: lastDml, due_by: decision.dueBy.toISOString(), threshold };
}

export function timelinessOf(input: Pick<PipelineCheckInput, 'latest' | 'timeliness'>, now: Date): TimelinessView {
  const s = input.timeliness;
  const threshold = thresholdView(resolveThreshold(s.own, s.type));
  if (s.muted) return { state: 'muted', due_by: null, threshold };
  if (!threshold) return { state: 'no_threshold', due_by: null, threshold };
  if (!input.latest) return { state: 'no_executions', due_by: null, threshold };
  const decision = decideTimeliness({ ...input.latest, own: s.own, type: s.type }, now);
  if (decision.kind === 'skip') return { state: 'last_failed', due_by: null, threshold };
  const state = decision.kind === 'on_time' ? 'on_time' : decision.status === 'running' ? 'running_late' : 'late';
  return { state, due_by: decision.dueBy.toISOString(), threshold };
}

/** States that need someone to look: listed first on the health board. */
export function needsAttention(p: { freshness: FreshnessView; timeliness: TimelinessView; open_anomalies: number }): boolean {
  return p.freshness.state === 'stale' || p.timeliness.state === 'late' || p.timeliness.state === 'running_late' || p.open_anomalies > 0;
}

/** What an alert's idempotency key names (see check-alerts.ts and build-alerts.ts for the keys). */
export type AlertSubject =
  | { pipelineId: number }
  | { executionId: number }
  | { executionKey: string }
  | { pipelineName: string }
  | { buildId: string }
  | Record<string, never>;

export function alertSubject(key: string): AlertSubject {
  const colon = key.indexOf(':');
  if (colon < 0) return {};
  const prefix = key.slice(0, colon);
  const rest = key.slice(colon + 1);
  const first = rest.split(':')[0] ?? '';
  const asId = (s: string) => (/^\d{1,15}$/.test(s) ? Number(s) : undefined);
  switch (prefix) {
    case 'freshness':
    case 'failure_rate': {
      const id = asId(first);
      return id === undefined ? {} : { pipelineId: id };
    }
    case 'anomaly': {
      const id = asId(first);
      return id === undefined ? {} : { executionId: id };
    }
    case 'timeliness':
      return rest ? { executionKey: rest } : {};
    case 'source_freshness':
      return first ? { pipelineName: first } : {};
    case 'node_failed': {
      // node_failed:<workflowId>:<runId>:<unique_id>; a key cut short for length ends in #<hash>.
      const uniqueId = rest.split(':').slice(2).join(':');
      return uniqueId && !/#[0-9a-f]+$/.test(uniqueId) ? { pipelineName: uniqueId } : {};
    }
    case 'build_failed':
      return first.startsWith('watcher/') ? { buildId: first.slice('watcher/'.length) } : {};
    default:
      return {};
  }
}
