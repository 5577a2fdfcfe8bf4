// What gets recorded: executions as plain records with natural keys, derived from a build's
// outcomes. Pure and workflow-safe: the producer builds these, activities store them.
import type { DbtNodeResult, NodeOutcome, NodeProgress } from '../contracts/messages.js';
import type { NodeConfig } from '../contracts/node-config.js';
import { describePeriod, type SourceFreshnessResult } from '../contracts/source-freshness.js';
import { endedNodeStatus, sourceFreshnessExecutionStatus, type NodeStatus } from '../contracts/status.js';

export type ExecutionStatus = Exclude<NodeStatus, 'pending'>;

export interface PipelineRef {
  name: string;
  type: string;
}

export interface ExecutionRecord {
  /** Natural key: the same execution recorded twice is one row. */
  key: string;
  parentKey?: string;
  pipeline: PipelineRef;
  status: ExecutionStatus;
  startDate: string;
  endDate?: string;
  inserts?: number;
  updates?: number;
  softDeletes?: number;
  totalRows?: number;
  watermark?: string;
  nextWatermark?: string;
  metadata?: Record<string, unknown>;
  /** On a successful end, promote the pipeline's next_watermark (build roots only). */
  promoteWatermark?: boolean;
  /**
   * A timer in the execution's own workflow watched its timeliness and alerts it: when recorded
   * as ended, a late success is logged (src/monitoring/timeliness.ts logFinishedLate).
   */
  timelinessWatched?: boolean;
}

export function buildExecutionKey(producerWorkflowId: string, producerRunId: string): string {
  return `build:${producerWorkflowId}:${producerRunId}`;
}
export function nodeExecutionKey(buildKey: string, uniqueId: string): string {
  return `${buildKey}/node:${uniqueId}`;
}
export function rerunExecutionKey(buildKey: string, uniqueId: string, attempt: number): string {
  return `${buildKey}/node:${uniqueId}/attempt:${attempt}`;
}

export function sourceFreshnessExecutionKey(buildKey: string, uniqueId: string): string {
  return `${buildKey}/source:${uniqueId}`;
}

export function nodePipelineType(resourceType: string): string {
  return `dbt_${resourceType}`;
}
export const BUILD_PIPELINE_TYPE = 'dbt_build';

/** dbt's adapter code says what kind of write the rows were (Postgres: INSERT n, SELECT n for CTAS, UPDATE n). */
function rowCounts(result: DbtNodeResult): Pick<ExecutionRecord, 'inserts' | 'updates' | 'softDeletes' | 'totalRows'> {
  const rows = result.rowsAffected;
  if (rows === undefined) return {};
  const code = (result.adapterCode ?? '').toUpperCase();
  if (/^(INSERT|SELECT|COPY|CREATE TABLE)/.test(code)) return { inserts: rows, totalRows: rows };
  if (/^(UPDATE|MERGE)/.test(code)) return { updates: rows, totalRows: rows };
  if (/^DELETE/.test(code)) return { softDeletes: rows, totalRows: rows };
  return { totalRows: rows };
}

function resultMetadata(outcome: Pick<NodeOutcome, 'node' | 'tests'>, extra: Record<string, unknown>): Record<string, unknown> {
  const n = outcome.node;
  return {
    unique_id: n.uniqueId,
    resource_type: n.resourceType,
    dbt_status: n.dbtStatus,
    relation: n.relation,
    materialization: n.materialized,
    message: n.message,
    failures: n.failures,
    query_id: n.queryId,
    thread: n.thread,
    adapter_code: n.adapterCode,
    execution_time_seconds: n.executionTimeSeconds,
    tests: outcome.tests.map((t) => ({ unique_id: t.uniqueId, status: t.status, failures: t.failures, message: t.message })),
    ...extra,
  };
}

/** A node's (or rerun's) start and end: dbt's own timestamps, else when it was reported. */
export function timesOf(result: DbtNodeResult, fallbackMs: number): { startDate: string; endDate: string } {
  const fallback = new Date(fallbackMs).toISOString();
  const start = result.startedAt ?? result.finishedAt ?? fallback;
  let end = result.finishedAt ?? fallback;
  if (Date.parse(end) < Date.parse(start)) end = start;
  return { startDate: start, endDate: end };
}

export interface NodeRecordContext {
  buildKey: string;
  uniqueId: string;
  resourceType: string;
  config?: NodeConfig;
  /** When the producer learned the outcome (epoch ms), for nodes dbt gave no timestamps. */
  atMs: number;
}

/**
 * The executions a node's final outcome stands for: its execution in the build (a child of
 * the build's root), and one grandchild per single-node rerun.
 */
export function nodeExecutionRecords(ctx: NodeRecordContext, outcome: NodeOutcome): ExecutionRecord[] {
  const pipeline = { name: ctx.uniqueId, type: nodePipelineType(ctx.resourceType) };
  const nodeKey = nodeExecutionKey(ctx.buildKey, ctx.uniqueId);
  const attempts = [...(outcome.previousAttempts ?? []), outcome];
  const inactive = ctx.config?.active === false ? { active: false } : {};
  return attempts.map((a) => {
    const record: ExecutionRecord = {
      key: a.attempt === 1 ? nodeKey : rerunExecutionKey(ctx.buildKey, ctx.uniqueId, a.attempt),
      parentKey: a.attempt === 1 ? ctx.buildKey : nodeKey,
      pipeline,
      status: endedNodeStatus(a.status),
      ...timesOf(a.node, a.reportCompletedAtMs ?? ctx.atMs),
      ...rowCounts(a.node),
      metadata: resultMetadata(a, { attempt: a.attempt, invocation_id: a.invocationId, nodes_run: a.rerun?.nodesRun, ...inactive }),
      ...(a.timelinessWatched ? { timelinessWatched: true } : {}),
    };
    return record;
  });
}

/** A node that ended without an outcome (canceled, or failed before any report). */
export function nodeExecutionRecordFromProgress(ctx: NodeRecordContext, progress: NodeProgress): ExecutionRecord {
  const at = new Date(ctx.atMs).toISOString();
  return {
    key: nodeExecutionKey(ctx.buildKey, ctx.uniqueId),
    parentKey: ctx.buildKey,
    pipeline: { name: ctx.uniqueId, type: nodePipelineType(ctx.resourceType) },
    status: endedNodeStatus(progress.status),
    startDate: at,
    endDate: at,
    metadata: { unique_id: ctx.uniqueId, resource_type: ctx.resourceType, message: progress.message, failure_type: progress.failureType, ...(ctx.config?.active === false ? { active: false } : {}) },
  };
}

/**
 * A build's source freshness check, one execution per source checked: a child of the build's
 * root, of the source's own pipeline (type `dbt_source`), with what dbt found in its metadata.
 * `skipped`: the nodes each stale source kept out of the build.
 */
export function sourceFreshnessRecords(buildKey: string, results: readonly SourceFreshnessResult[], skipped: ReadonlyMap<string, string[]>, atMs: number): ExecutionRecord[] {
  const at = new Date(atMs).toISOString();
  return results.map((r) => {
    const startDate = r.startedAt ?? r.snapshottedAt ?? at;
    let endDate = r.finishedAt ?? r.snapshottedAt ?? startDate;
    if (Date.parse(endDate) < Date.parse(startDate)) endDate = startDate;
    return {
      key: sourceFreshnessExecutionKey(buildKey, r.uniqueId),
      parentKey: buildKey,
      pipeline: { name: r.uniqueId, type: nodePipelineType('source') },
      status: sourceFreshnessExecutionStatus(r.status),
      startDate,
      endDate,
      metadata: {
        unique_id: r.uniqueId,
        resource_type: 'source',
        freshness_status: r.status,
        max_loaded_at: r.maxLoadedAt,
        snapshotted_at: r.snapshottedAt,
        age_seconds: r.ageSeconds,
        warn_after: r.warnAfter ? describePeriod(r.warnAfter) : undefined,
        error_after: r.errorAfter ? describePeriod(r.errorAfter) : undefined,
        filter: r.filter,
        message: r.message,
        skipped_nodes: skipped.get(r.uniqueId),
      },
    };
  });
}

/** FNV-1a, 32 bits: a short, stable fingerprint without Node's crypto (workflow-safe). */
export function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/**
 * One pipeline per build definition: given in the input, or named from the dbt project,
 * target and selection (`dbt:shop:default:select=stg_payments+`).
 */
export function buildPipelineName(
  input: { pipeline?: string; target?: string; select?: string[]; exclude?: string[]; selector?: string },
  projectName: string,
): string {
  if (input.pipeline) return input.pipeline;
  const parts: string[] = [];
  if (input.select?.length) parts.push(`select=${input.select.join(' ')}`);
  if (input.exclude?.length) parts.push(`exclude=${input.exclude.join(' ')}`);
  if (input.selector) parts.push(`selector=${input.selector}`);
  let selection = parts.join(';') || 'all';
  if (selection.length > 160) selection = `${selection.slice(0, 140)}…#${fnv1a(selection)}`;
  return `dbt:${projectName}:${input.target ?? 'default'}:${selection}`;
}
