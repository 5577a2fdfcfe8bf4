// What a failed build tells people: one `build_failed` alert (its failed nodes with dbt's
// messages, the build's Temporal UI link) and one `node_failed` alert per node that failed after
// its last retry (its message, failed tests, the command that reruns it, its consumer's link).
// Pure and workflow-safe: the producer builds the input from what it knows when it ends, the
// post-build workflow's activity adds the links (only the worker knows the UI's address).
import type { NodeOutcome, NodeProgress, PlannedNode } from '../contracts/messages.js';
import { nodeWorkflowId } from '../contracts/names.js';
import { isFailedResultStatus, type NodeStatus } from '../contracts/status.js';
import { fnv1a } from '../recording/records.js';
import type { Alert } from './alerts.js';

/** Nodes listed in the build_failed alert at most (then "and N more"). */
export const BUILD_ALERT_LISTED_NODES = 20;
/** node_failed alerts per build at most: a build where everything failed does not flood a channel (the build_failed alert counts them all). */
export const MAX_NODE_FAILED_ALERTS = 500;
/** A message (dbt's, or the build's error) is cut to this many characters in an alert. */
export const MAX_ALERT_MESSAGE = 1000;
/** A node's message in the build_failed list is cut to this many characters. */
const LISTED_MESSAGE = 300;
/** Failed tests named per node at most. */
const LISTED_TESTS = 10;

export interface FailedTest {
  uniqueId: string;
  status: string;
  message?: string;
}

/** A node that failed after its last retry (status error or fail), as the producer saw it end. */
export interface FailedNode {
  uniqueId: string;
  resourceType: string;
  status: NodeStatus;
  attempt?: number;
  message?: string;
  /** dbt's selector for this node alone (reruns it). */
  selector?: string;
  failedTests?: FailedTest[];
}

/** The post-build workflow's input: in its history, so nothing secret and nothing unbounded. */
export interface BuildAlertsInput {
  buildId: string;
  /** The producer's workflow ID and run ID (the build's execution key and the alerts' keys). */
  workflowId: string;
  runId: string;
  project?: string;
  target?: string;
  /** The build's pipeline (`dbt:<project>:<target>:<selection>` or the input's). */
  pipeline?: string;
  /** The build's recorded status: `error` when it failed. */
  status: NodeStatus;
  /** Why the build failed when it was not (only) its nodes: dbt could not run, ... */
  error?: string;
  nodes: number;
  counts: Partial<Record<NodeStatus, number>>;
  /** The first MAX_NODE_FAILED_ALERTS failed nodes. */
  failedNodes: FailedNode[];
  /** Every failed node (error or fail), listed or not. */
  failedNodeCount: number;
  /** ISO time the build ended (the producer's clock). */
  endedAt: string;
}

export interface AlertLinks {
  /** The Temporal UI's base URL (e.g. `http://localhost:8233`); no links without it. */
  uiUrl?: string;
  namespace: string;
}

export function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A node's status after its last retry says it failed (a skipped, not-run or canceled node did not fail itself). */
export function isFailedNode(status: NodeStatus): boolean {
  return status === 'error' || status === 'fail';
}

/** The failed tests of a node's final outcome (kept by the producer for its alerts). */
export function failedTestsOf(outcome: Pick<NodeOutcome, 'tests'>): FailedTest[] {
  return outcome.tests
    .filter((t) => isFailedResultStatus(t.status))
    .slice(0, LISTED_TESTS)
    .map((t) => ({ uniqueId: t.uniqueId, status: t.status, ...(t.message ? { message: cut(t.message, MAX_ALERT_MESSAGE) } : {}) }));
}

/** The failed nodes of a build's progress, in plan order, capped, with their selectors and failed tests. */
export function failedNodesOf(
  nodes: readonly NodeProgress[],
  planned: ReadonlyMap<string, Pick<PlannedNode, 'selector'>>,
  failedTests: ReadonlyMap<string, FailedTest[]>,
): { failedNodes: FailedNode[]; failedNodeCount: number } {
  const failed = nodes.filter((n) => isFailedNode(n.status));
  return {
    failedNodeCount: failed.length,
    failedNodes: failed.slice(0, MAX_NODE_FAILED_ALERTS).map((n) => {
      const tests = failedTests.get(n.uniqueId);
      const selector = planned.get(n.uniqueId)?.selector;
      return {
        uniqueId: n.uniqueId,
        resourceType: n.resourceType,
        status: n.status,
        ...(n.attempt !== undefined ? { attempt: n.attempt } : {}),
        ...(n.message ? { message: cut(n.message, MAX_ALERT_MESSAGE) } : {}),
        ...(selector ? { selector } : {}),
        ...(tests?.length ? { failedTests: tests } : {}),
      };
    }),
  };
}

/** A workflow's page in the Temporal UI (its latest run without `runId`). */
export function workflowUiUrl(uiUrl: string, namespace: string, workflowId: string, runId?: string): string {
  const base = `${uiUrl.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${encodeURIComponent(runId)}/history` : base;
}

/** The command that runs one node again, alone. */
export function rerunCommand(selector: string, target?: string): string {
  return `dbt build --select ${selector}${target ? ` --target ${target}` : ''}`;
}

/** The notifier takes keys of at most 500 characters: a longer one (a 512-character unique_id) keeps its start and a fingerprint of the whole. */
export const MAX_KEY = 500;
function boundedKey(key: string): string {
  return key.length <= MAX_KEY ? key : `${key.slice(0, MAX_KEY - 9)}#${fnv1a(key)}`;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** A node's dbt message, and its failed tests' when a test failed it. */
function nodeMessage(n: FailedNode, max: number): string {
  const own = n.message ? oneLine(n.message) : '';
  const tests = (n.failedTests ?? []).map((t) => `${t.uniqueId} (${t.status})${t.message ? `: ${oneLine(t.message)}` : ''}`);
  const text = tests.length ? `${tests.length > 1 ? 'tests' : 'test'} ${tests.join('; ')}${own ? ` [node: ${own}]` : ''}` : own;
  return cut(text || 'no message from dbt', max);
}

function buildName(input: BuildAlertsInput): string {
  return `${input.project ?? 'dbt project'} (target ${input.target ?? 'default'})`;
}

/**
 * The alerts of a build that failed: one build_failed and one node_failed per failed node (at
 * most MAX_NODE_FAILED_ALERTS). None for a build that passed (success or warn) or was canceled.
 */
export function buildFailureAlerts(input: BuildAlertsInput, links: AlertLinks): Alert[] {
  if (input.status !== 'error') return [];
  const buildLink = links.uiUrl ? workflowUiUrl(links.uiUrl, links.namespace, input.workflowId, input.runId) : undefined;
  const others = (['skipped', 'not_run', 'canceled'] as const).filter((s) => input.counts[s]).map((s) => `${input.counts[s]} ${s.replace('_', ' ')}`);
  const listed = input.failedNodes.slice(0, BUILD_ALERT_LISTED_NODES);
  const more = input.failedNodeCount - listed.length;
  const what =
    input.failedNodeCount > 0 ? `${plural(input.failedNodeCount, 'node')} of ${input.nodes} failed` : input.nodes > 0 ? `no node of ${input.nodes} failed itself` : 'before any node ran';
  const lines = [
    `Build ${input.buildId} of ${buildName(input)} failed: ${what}${others.length ? ` (${others.join(', ')})` : ''}.`,
    ...(input.error ? [`dbt: ${cut(oneLine(input.error), MAX_ALERT_MESSAGE)}`] : []),
    ...listed.map((n) => `- ${n.uniqueId} (${n.status}): ${nodeMessage(n, LISTED_MESSAGE)}`),
    ...(more > 0 ? [`and ${more} more`] : []),
  ];
  const build: Alert = {
    kind: 'build_failed',
    level: 'error',
    title: `Build failed: ${buildName(input)}, build ${input.buildId}`,
    message: lines.join('\n'),
    details: {
      build_id: input.buildId,
      project: input.project ?? null,
      target: input.target ?? 'default',
      pipeline: input.pipeline ?? null,
      workflow_id: input.workflowId,
      run_id: input.runId,
      nodes: input.nodes,
      failed_nodes: input.failedNodeCount,
      failed: listed.map((n) => `${n.uniqueId} (${n.status})`).join(', ') + (more > 0 ? `, and ${more} more` : ''),
      ...(input.counts.skipped ? { skipped: input.counts.skipped } : {}),
      ...(input.counts.not_run ? { not_run: input.counts.not_run } : {}),
      ...(input.error ? { error: cut(oneLine(input.error), LISTED_MESSAGE) } : {}),
    },
    idempotencyKey: `build_failed:${input.workflowId}:${input.runId}`,
    occurredAt: input.endedAt,
    ...(buildLink ? { links: { temporal_ui: buildLink } } : {}),
  };
  return [build, ...input.failedNodes.map((n) => nodeFailedAlert(input, n, links, buildLink))];
}

function nodeFailedAlert(input: BuildAlertsInput, n: FailedNode, links: AlertLinks, buildLink: string | undefined): Alert {
  const rerun = n.selector ? rerunCommand(n.selector, input.target) : undefined;
  const attempts = n.attempt && n.attempt > 1 ? ` after ${plural(n.attempt, 'attempt')}` : '';
  const nodeLink = links.uiUrl ? workflowUiUrl(links.uiUrl, links.namespace, nodeWorkflowId(input.buildId, n.uniqueId)) : undefined;
  return {
    kind: 'node_failed',
    level: 'error',
    title: `Node failed: ${n.uniqueId} (${n.status})`,
    message: `${n.uniqueId} ended ${n.status}${attempts} in build ${input.buildId} of ${buildName(input)}: ${nodeMessage(n, MAX_ALERT_MESSAGE)}${rerun ? `\nRerun it: ${rerun}` : ''}`,
    details: {
      unique_id: n.uniqueId,
      resource_type: n.resourceType,
      status: n.status,
      attempt: n.attempt ?? 1,
      build_id: input.buildId,
      project: input.project ?? null,
      target: input.target ?? 'default',
      ...(n.failedTests?.length ? { failed_tests: n.failedTests.map((t) => `${t.uniqueId} (${t.status})`).join(', ') } : {}),
      ...(rerun ? { rerun } : {}),
    },
    idempotencyKey: boundedKey(`node_failed:${input.workflowId}:${input.runId}:${n.uniqueId}`),
    occurredAt: input.endedAt,
    ...(nodeLink ? { links: { temporal_ui: nodeLink, ...(buildLink ? { build: buildLink } : {}) } } : {}),
  };
}
