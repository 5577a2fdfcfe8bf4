// Shared message definitions: what flows between the build activity, the producer and the
// consumers. Workflow-safe (no Node built-ins).
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { RerunFlags } from './build-input.js';
import type { NodeConfig } from './node-config.js';
import type { SourceFreshnessSummary } from './source-freshness.js';
import type { NodeStatus, ResultStatus } from './status.js';

/** dbt resource types that get their own consumer workflow. */
export const CONSUMER_RESOURCE_TYPES = ['model', 'seed', 'snapshot'] as const;
export type ConsumerResourceType = (typeof CONSUMER_RESOURCE_TYPES)[number];
/** dbt resource types that are tests of a consumer's node. */
export const TEST_RESOURCE_TYPES = ['test', 'unit_test'] as const;

export function isConsumerResourceType(t: string): t is ConsumerResourceType {
  return (CONSUMER_RESOURCE_TYPES as readonly string[]).includes(t);
}
export function isTestResourceType(t: string): boolean {
  return (TEST_RESOURCE_TYPES as readonly string[]).includes(t);
}

/** One dbt result (a model, seed, snapshot or test), from a NodeFinished event or run_results.json. */
export interface DbtNodeResult {
  uniqueId: string;
  resourceType: string;
  status: ResultStatus;
  /** dbt's own status string, e.g. `success`, `pass`, `skipped`. */
  dbtStatus: string;
  message?: string;
  startedAt?: string;
  finishedAt?: string;
  executionTimeSeconds?: number;
  rowsAffected?: number;
  /** The adapter's code for the statement, e.g. `INSERT`, `SELECT` (CTAS), `CREATE VIEW`. */
  adapterCode?: string;
  queryId?: string;
  failures?: number;
  thread?: string;
  relation?: string;
  materialized?: string;
  /** Where this result came from. */
  source: 'event' | 'run_results' | 'missing';
}

/** What a consumer receives: its node's result and the results of all its tests. */
export interface NodeReport {
  uniqueId: string;
  node: DbtNodeResult;
  tests: DbtNodeResult[];
  invocationId?: string;
  /** Epoch ms of the dbt log line that completed this report (for lag measurement). */
  completedAtMs?: number;
  /** For `not_run`: why dbt never ran it, and whether a rerun of the node alone can help. */
  cause?: string;
  retryable?: boolean;
}

/** A lineage address: a relation (database.schema.alias) or a source. */
export interface AddressSpec {
  name: string;
  type: 'relation' | 'source';
  database?: string;
  schema?: string;
  table?: string;
}

/** The node a consumer watches, as resolved from dbt's manifest. */
export interface PlannedNode {
  uniqueId: string;
  resourceType: ConsumerResourceType;
  name: string;
  packageName: string;
  /** Exact dbt selector for this node alone (its fqn), used by single-node reruns. */
  selector: string;
  materialized?: string;
  /** Consumers in this build that must end before this node can be rerun alone. */
  upstream: string[];
  /** Tests (and unit tests) in this build that belong to this node. */
  tests: string[];
  /** Settings as code from `meta.watcher` (absent when none). */
  config?: NodeConfig;
  /** Why `meta.watcher` was ignored, if it was invalid. */
  configError?: string;
  /**
   * Data lineage, by address name (see BuildPlan.addresses): the relation the node writes (none
   * for ephemeral models) and the relations/sources it reads, through ephemeral models.
   */
  lineage: { target?: string; sources: string[] };
}

/** The selected graph of one build. */
export interface BuildPlan {
  projectName: string;
  dbtVersion: string;
  /** Identifies (project directory, target): builds with the same key write the same relations. */
  targetKey: string;
  nodes: PlannedNode[];
  /** Every address the nodes' lineage names, once (keeps the plan small for big projects). */
  addresses: Record<string, AddressSpec>;
  testCount: number;
  /** The sources the nodes read (through ephemeral models): unique_id -> its `source:` selector. */
  sources?: Record<string, string>;
}

/** Sent by the build activity when dbt starts a consumer's node (NodeStart). */
export const nodeStartedSignal = defineSignal<[{ startedAt: string }]>('nodeStarted');
/** Sent by the build activity when a consumer's node and all its tests have results. Idempotent. */
export const nodeReportSignal = defineSignal<[NodeReport]>('nodeReport');

/** How one consumer ended, as its group reports it to the build. */
export interface NodeEnd {
  uniqueId: string;
  status: NodeStatus;
  attempt?: number;
  failureType?: string;
  message?: string;
  /** The consumer's outcome, when it got that far (for the summary and the records). */
  outcome?: NodeOutcome;
}
/** Sent by a node group to its build, in batches, as its consumers end. */
export const nodesEndedSignal = defineSignal<[NodeEnd[]]>('nodesEnded');

/**
 * Sent by a node group to its build once every consumer of the group has started: the build runs
 * dbt only then, so every node is in the Temporal UI before dbt starts and no report waits for
 * its consumer to exist.
 */
export const consumersStartedSignal = defineSignal<[{ group: number }]>('consumersStarted');

/** Sent by a build to the target guard it holds when it is done with the target. */
export const releaseTargetSignal = defineSignal('releaseTarget');

/** A consumer's state, for `temporal workflow query --name nodeState`. */
export interface NodeState {
  uniqueId: string;
  status: NodeStatus;
  attempt: number;
  /** This run's report (attempt 1: the build's; later attempts: their rerun's). */
  report?: NodeReport;
  /**
   * The build's results this consumer received (on a retried consumer, its first run's): the
   * durable truth a resumed build asks for, so that nothing that reached a consumer runs again.
   * Absent while it still waits for the build.
   */
  fromBuild?: { node: DbtNodeResult; tests: DbtNodeResult[] };
}
export const nodeStateQuery = defineQuery<NodeState>('nodeState');

/** What a consumer workflow returns when it completes (success or warn). */
export interface NodeOutcome {
  uniqueId: string;
  resourceType: ConsumerResourceType;
  status: NodeStatus;
  attempt: number;
  node: DbtNodeResult;
  tests: DbtNodeResult[];
  /** Set when this outcome came from a single-node rerun (attempt > 1). */
  rerun?: { invocationId?: string; nodesRun: string[] };
  message?: string;
  /** Epoch ms of the dbt log line that completed this node's report (consumer lag = close time − this). */
  reportCompletedAtMs?: number;
  /** dbt's invocation that produced this outcome. */
  invocationId?: string;
  /** Earlier attempts of this consumer (attempt 1 is the build's result), oldest first. */
  previousAttempts?: NodeOutcome[];
  /** `meta.watcher.active: false` on the node. */
  active?: boolean;
  /**
   * This run's timeliness timer was armed (workflows/timeliness-timer.ts): its late alert is the
   * consumer's, so its record logs a late end and the 15-minute check leaves it alone.
   */
  timelinessWatched?: boolean;
}

export interface NodeProgress {
  uniqueId: string;
  resourceType: ConsumerResourceType;
  status: NodeStatus;
  attempt?: number;
  failureType?: string;
  message?: string;
  rowsAffected?: number;
  executionTimeSeconds?: number;
  tests?: { total: number; passed: number; warned: number; failed: number };
}

export type BuildPhase = 'resolving' | 'queued' | 'starting' | 'building' | 'waiting_for_nodes' | 'succeeded' | 'failed' | 'canceled';

/** The producer's `progress` query result, and its return value (the per-node summary). */
export interface BuildProgress {
  buildId: string;
  phase: BuildPhase;
  projectName?: string;
  dbtVersion?: string;
  invocationId?: string;
  dbtExitCode?: number;
  /** Epoch ms when dbt exited. */
  dbtExitedAtMs?: number;
  error?: string;
  /** Recording problems (metadata database): reported, never a build failure. */
  recordingFailures?: string[];
  /** What `dbt source freshness` found before the build (sourceFreshness `warn` / `skip-stale`). */
  sourceFreshness?: SourceFreshnessSummary;
  nodes: NodeProgress[];
  counts: Partial<Record<NodeStatus, number>>;
}
export const progressQuery = defineQuery<BuildProgress>('progress');

/**
 * A node group's answer: the build's dbt flags for its consumers' single-node reruns. Consumers
 * ask for them (through their rerun activity) instead of each carrying vars of up to 64 KiB.
 */
export const rerunFlagsQuery = defineQuery<RerunFlags>('rerunFlags');
