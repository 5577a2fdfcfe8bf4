// What the build page shows of a build, from the API's detail: one row per node (its record
// once its consumer ended, else its live state from the build's `progress` query), the
// failures first, and the progress counts. Pure: no DOM, unit-tested.
import type { BuildDetail, NodeExecution } from '../api-client.js';

export interface NodeTest {
  uniqueId: string;
  status: string;
  message?: string;
}

export interface NodeView {
  uniqueId: string;
  resourceType: string;
  status: string;
  /** 1 + the single-node reruns of its consumer. */
  attempts: number;
  message?: string;
  thread?: string;
  startMs?: number;
  endMs?: number;
  durationSeconds?: number;
  rows?: number;
  tests: NodeTest[];
  /** Every attempt's execution, first to last (none while it has not ended). */
  executions: NodeExecution[];
}

export interface Failure {
  uniqueId: string;
  /** The models a failing test belongs to (dbt reports a test with several parents under each). */
  under: string[];
  status: string;
  message: string;
}

const ENDED = new Set(['success', 'warn', 'error', 'fail', 'skipped', 'not_run', 'canceled']);
const FAILED = new Set(['error', 'fail']);

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

function testsOf(metadata: Record<string, unknown> | null): NodeTest[] {
  const tests = metadata?.tests;
  if (!Array.isArray(tests)) return [];
  return tests.flatMap((t: unknown) => {
    const o = t as Record<string, unknown>;
    const uniqueId = str(o?.unique_id);
    return uniqueId ? [{ uniqueId, status: str(o.status) ?? 'unknown', message: str(o.message) }] : [];
  });
}

/**
 * One row per node. `firstSeenRunning` holds when this page first saw each running node
 * (the progress query carries no start time): its bar starts there.
 */
export function nodeViews(build: BuildDetail, firstSeenRunning: Map<string, number>, nowMs: number): NodeView[] {
  const views = new Map<string, NodeView>();
  for (const node of build.nodes) {
    const meta = node.metadata;
    const uniqueId = str(meta?.unique_id) ?? node.pipeline;
    const last = node.reruns.at(-1) ?? node;
    const startMs = Date.parse(node.startDate);
    const endMs = last.endDate ? Date.parse(last.endDate) : undefined;
    views.set(uniqueId, {
      uniqueId,
      resourceType: str(meta?.resource_type) ?? node.pipelineType,
      status: last.status,
      attempts: 1 + node.reruns.length,
      message: last.message ?? node.message,
      thread: str(meta?.thread),
      startMs,
      endMs,
      durationSeconds: last.durationSeconds ?? undefined,
      rows: last.totalRows ?? undefined,
      tests: testsOf(last.metadata ?? meta),
      executions: [node, ...node.reruns],
    });
  }
  for (const p of build.progress?.nodes ?? []) {
    if (views.has(p.uniqueId)) continue;
    if (p.status === 'running' && !firstSeenRunning.has(p.uniqueId)) firstSeenRunning.set(p.uniqueId, nowMs);
    const seen = firstSeenRunning.get(p.uniqueId);
    views.set(p.uniqueId, {
      uniqueId: p.uniqueId,
      resourceType: p.resourceType,
      status: p.status,
      attempts: p.attempt ?? 1,
      message: p.message,
      startMs: seen,
      endMs: p.status === 'running' && seen !== undefined ? nowMs : undefined,
      durationSeconds: p.executionTimeSeconds,
      rows: p.rowsAffected,
      tests: [],
      executions: [],
    });
  }
  return [...views.values()];
}

/** Failed nodes and failed tests (under their model), with dbt's message. */
export function failuresOf(nodes: NodeView[]): Failure[] {
  const failures: Failure[] = [];
  const tests = new Map<string, Failure>();
  for (const n of nodes) {
    // A model that ran but whose test failed ends `fail`: dbt's message for it is the adapter's
    // ("CREATE VIEW"); what failed is the test.
    const failedTests = n.tests.filter((t) => FAILED.has(t.status));
    const message = n.status === 'fail' && failedTests.length ? failedTests.map((t) => `${t.uniqueId} (${t.status}): ${t.message ?? ''}`).join('\n') : (n.message ?? '');
    if (FAILED.has(n.status)) failures.push({ uniqueId: n.uniqueId, under: [], status: n.status, message });
    for (const t of failedTests) {
      const seen = tests.get(t.uniqueId);
      if (seen) seen.under.push(n.uniqueId);
      else tests.set(t.uniqueId, { uniqueId: t.uniqueId, under: [n.uniqueId], status: t.status, message: t.message ?? '' });
    }
  }
  return [...failures, ...tests.values()];
}

/** Failures first, then running, then the rest by start. */
export function orderNodes(nodes: NodeView[]): NodeView[] {
  const rank = (n: NodeView) => (FAILED.has(n.status) || n.tests.some((t) => FAILED.has(t.status)) ? 0 : n.status === 'running' ? 1 : 2);
  return [...nodes].sort((a, b) => rank(a) - rank(b) || (a.startMs ?? Infinity) - (b.startMs ?? Infinity) || a.uniqueId.localeCompare(b.uniqueId));
}

export function progressOf(nodes: NodeView[]): { done: number; total: number } {
  return { done: nodes.filter((n) => ENDED.has(n.status)).length, total: nodes.length };
}

/**
 * The dbt command that runs this node again, alone (with its tests): its type, package and
 * name (a one-part fqn matches the node's name, wherever its folder).
 */
export function rerunCommand(uniqueId: string, resourceType: string): string {
  const [, pkg, name] = uniqueId.split('.');
  return `dbt build --select "resource_type:${resourceType},package:${pkg},fqn:${name}"`;
}

/** A consumer's page in the Temporal UI, from the build's own link. */
export function consumerUrl(buildUiUrl: string | undefined, workflowId: string, uniqueId: string): string | undefined {
  if (!buildUiUrl) return undefined;
  const i = buildUiUrl.indexOf('/workflows/');
  return i < 0 ? undefined : `${buildUiUrl.slice(0, i)}/workflows/${encodeURIComponent(`${workflowId}/${uniqueId}`)}`;
}
