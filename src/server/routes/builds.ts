// Watcher's own resources: dbt builds (list, one with its nodes, start, cancel: always through
// Temporal, the server never runs dbt), executions of any pipeline, address lineage and
// watermarks. dbt builds and SDK pipelines are the same kind of row, so the reads see both.
import type { Client, WorkflowExecutionDescription, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { isGrpcDeadlineError, isGrpcServiceError, ServiceError } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/common';
import { z } from 'zod';
import { newBuildId, startBuild } from '../../client.js';
import { buildInputSchema } from '../../contracts/build-input.js';
import { progressQuery, type BuildProgress } from '../../contracts/messages.js';
import { BUILD_ID_PATTERN, buildWorkflowId, SCHEDULE_ID_PREFIX, scheduleId, SearchAttributes } from '../../contracts/names.js';
import { NODE_STATUSES } from '../../contracts/status.js';
import { BUILD_TRIGGERS, buildTriggerOf, isBuildTrigger, SCHEDULE_MEMO_KEY } from '../../contracts/trigger.js';
import { CONTROL_CHARS } from '../../contracts/validation.js';
import type { ExecutionStatus } from '../../recording/records.js';
import { addressExists, listBuilds, listExecutions, listWatermarks, triggerOfRecord, type BuildRow, type ListedExecution } from '../../store/builds.js';
import { buildExecution, descendantsOf, downstreamAddresses, upstreamAddresses, type ExecutionRow } from '../../store/queries.js';
import type { Api } from '../app.js';
import type { ServerDeps } from '../deps.js';
import { ApiError, conflict, notFound } from '../errors.js';
import { errorResponses, jsonObject, timestamp } from '../schemas.js';

const TAGS = ['watcher'];
/** Every Temporal call of a request is bounded: an unreachable Temporal is a 503, not a hang. */
const TEMPORAL_DEADLINE_MS = 10_000;
/** A running build answers `progress` at once; no worker polling must not hold the request. */
const PROGRESS_QUERY_DEADLINE_MS = 3_000;

const EXECUTION_STATUSES = ['running', 'success', 'warn', 'error', 'fail', 'skipped', 'not_run', 'canceled'] as const satisfies readonly ExecutionStatus[];
const executionStatus = z.enum(EXECUTION_STATUSES);
export const buildId = z.string().regex(BUILD_ID_PATTERN, 'must be 1-100 letters, digits, and . _ - (starting with a letter or digit)');
const limit = z.coerce.number().int().min(1).max(500).default(50);
const offset = z.coerce.number().int().min(0).max(1_000_000).default(0);
const isoDate = z.iso.datetime({ offset: true });
/** A name to look up, exactly as stored (dbt unique_ids and relation names keep their case). */
const lookupName = (max: number) => z.string().min(1).max(max).refine((s) => !CONTROL_CHARS.test(s), 'must not contain control characters');
const buildTrigger = z.enum(BUILD_TRIGGERS);
/** A Watcher schedule by its name, or by its Temporal Schedule ID (`watcher-schedule/<name>`). */
const scheduleFilter = lookupName(128)
  .transform((s) => (s.startsWith(SCHEDULE_ID_PREFIX) ? s.slice(SCHEDULE_ID_PREFIX.length) : s))
  .describe('a Watcher schedule name, or its Temporal Schedule ID watcher-schedule/<name>');

const NodeExecution = z.object({
  id: z.number().int(),
  parentId: z.number().int().nullable(),
  pipeline: z.string().describe('The pipeline: a dbt unique_id for dbt nodes'),
  pipelineType: z.string(),
  status: executionStatus,
  startDate: isoDate,
  endDate: isoDate.nullable(),
  durationSeconds: z.number().nullable(),
  totalRows: z.number().int().nullable(),
  attempt: z.number().int().optional(),
  message: z.string().optional(),
  metadata: jsonObject.nullable(),
});

const BuildSummary = z.object({
  buildId: z.string(),
  workflowId: z.string(),
  runId: z.string().nullable(),
  /** The root execution's id (GET /pipeline_execution/{id}); null until the build is recorded. */
  executionId: z.number().int().nullable(),
  pipeline: z.string().nullable(),
  project: z.string().nullable(),
  /** The dbt target named at start; null for the profile's default target. */
  target: z.string().nullable(),
  /** What started it: `watcher build` (cli), a Watcher schedule, or POST /builds (api); null when unknown. */
  trigger: buildTrigger.nullable(),
  /** The Watcher schedule that started it, by name. */
  schedule: z.string().nullable(),
  /** That schedule's Temporal Schedule ID (`watcher-schedule/<name>`). */
  scheduleId: z.string().nullable(),
  status: executionStatus,
  startDate: isoDate.nullable(),
  endDate: isoDate.nullable(),
  durationSeconds: z.number().nullable(),
  totalRows: z.number().int().nullable(),
  nodeCounts: z.record(z.string(), z.number().int()),
  uiUrl: z.string().optional(),
});

const NodeProgressSchema = z.object({
  uniqueId: z.string(),
  resourceType: z.string(),
  status: z.enum(NODE_STATUSES),
  attempt: z.number().int().optional(),
  failureType: z.string().optional(),
  message: z.string().optional(),
  rowsAffected: z.number().optional(),
  executionTimeSeconds: z.number().optional(),
  tests: z.object({ total: z.number(), passed: z.number(), warned: z.number(), failed: z.number() }).optional(),
});

const BuildProgressSchema = z.object({
  buildId: z.string(),
  phase: z.enum(['resolving', 'queued', 'starting', 'building', 'waiting_for_nodes', 'succeeded', 'failed', 'canceled']),
  projectName: z.string().optional(),
  dbtVersion: z.string().optional(),
  invocationId: z.string().optional(),
  dbtExitCode: z.number().optional(),
  dbtExitedAtMs: z.number().optional(),
  error: z.string().optional(),
  recordingFailures: z.array(z.string()).optional(),
  nodes: z.array(NodeProgressSchema),
  counts: z.record(z.string(), z.number()),
});

const BuildDetail = BuildSummary.extend({
  nodes: z.array(NodeExecution.extend({ reruns: z.array(NodeExecution) })),
  /** Temporal's view (running, completed, failed, canceled, terminated, timed_out), when asked. */
  workflowStatus: z.string().optional(),
  /** The build's live `progress` query, while it runs. */
  progress: BuildProgressSchema.optional(),
});

const StartedBuild = z.object({ buildId: z.string(), workflowId: z.string(), runId: z.string(), uiUrl: z.string().optional() });

function workflowUrl(deps: ServerDeps, workflowId: string, runId: string | null): string | undefined {
  if (!deps.temporal.uiUrl || !runId) return undefined;
  return `${deps.temporal.uiUrl}/namespaces/${encodeURIComponent(deps.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}/${encodeURIComponent(runId)}/history`;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);
const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** A schedule's name and Temporal Schedule ID, or nulls. */
function scheduleOf(name: string | null | undefined): { schedule: string | null; scheduleId: string | null } {
  return name ? { schedule: name, scheduleId: scheduleId(name) } : { schedule: null, scheduleId: null };
}

function nodeOf(row: ListedExecution): z.infer<typeof NodeExecution> {
  // SDK pipelines send any JSON here; the response promises an object (or null).
  const meta = row.execution_metadata && typeof row.execution_metadata === 'object' && !Array.isArray(row.execution_metadata) ? row.execution_metadata : null;
  const attempt = meta?.attempt;
  return {
    id: row.id,
    parentId: row.parent_id,
    pipeline: row.pipeline,
    pipelineType: row.pipeline_type,
    status: row.status as ExecutionStatus,
    startDate: row.start_date.toISOString(),
    endDate: iso(row.end_date),
    durationSeconds: row.duration_seconds,
    totalRows: row.total_rows,
    attempt: typeof attempt === 'number' ? attempt : undefined,
    message: str(meta?.message),
    metadata: meta,
  };
}

function summaryOf(deps: ServerDeps, row: BuildRow): z.infer<typeof BuildSummary> {
  const workflowId = buildWorkflowId(row.build_id);
  return {
    buildId: row.build_id,
    workflowId,
    runId: row.run_id,
    executionId: row.id,
    pipeline: row.pipeline,
    project: str(row.execution_metadata?.project) ?? null,
    target: row.target,
    // Only Watcher's own values (a root recorded through the etl-watcher routes may say anything).
    trigger: isBuildTrigger(row.trigger) ? row.trigger : null,
    ...scheduleOf(row.schedule),
    status: row.status as ExecutionStatus,
    startDate: row.start_date.toISOString(),
    endDate: iso(row.end_date),
    durationSeconds: row.duration_seconds,
    totalRows: row.total_rows,
    nodeCounts: row.node_counts,
    uiUrl: workflowUrl(deps, workflowId, row.run_id),
  };
}

/** `build:watcher/<buildId>:<runId>` -> runId. */
function runIdOfKey(key: string): string | null {
  const i = key.lastIndexOf(':');
  return i > 0 ? key.slice(i + 1) : null;
}

function unavailable(what: string): ApiError {
  return new ApiError(503, 'unavailable', `Temporal is not reachable (${what}); try again shortly`);
}

const GRPC_UNAVAILABLE = 14;
function isUnreachable(err: unknown): boolean {
  if (isGrpcDeadlineError(err)) return true;
  const grpc = isGrpcServiceError(err) ? err : err instanceof ServiceError && isGrpcServiceError(err.cause) ? err.cause : undefined;
  return grpc?.code === GRPC_UNAVAILABLE;
}

/** Run `fn` against Temporal, bounded; Temporal away -> 503. */
async function withTemporal<T>(deps: ServerDeps, fn: (client: Client) => Promise<T>): Promise<T> {
  let client: Client;
  try {
    client = await deps.temporal.client();
  } catch (err) {
    throw unavailable(err instanceof Error ? err.message : String(err));
  }
  try {
    return await client.withDeadline(Date.now() + TEMPORAL_DEADLINE_MS, () => fn(client));
  } catch (err) {
    if (isUnreachable(err)) throw unavailable(err instanceof Error ? err.message : String(err));
    throw err;
  }
}

async function describeOrUndefined(client: Client, workflowId: string): Promise<WorkflowExecutionDescription | undefined> {
  try {
    return await client.workflow.getHandle(workflowId).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

interface LiveBuild {
  description: WorkflowExecutionDescription;
  progress?: BuildProgress;
}

/** At most this many running consumers are looked up per read (dbt runs a few threads at once). */
const RUNNING_NODES_LIMIT = 500;

/**
 * The producer's progress knows a node only as pending until dbt reports its end; its consumer
 * knows when dbt started it (DbtStatus = running, what the Temporal UI shows). One visibility
 * list marks those nodes running. Visibility lags by a moment: a node may show pending briefly.
 */
async function withRunningNodes(client: Client, id: string, progress: BuildProgress): Promise<BuildProgress> {
  if (!progress.nodes.some((n) => n.status === 'pending')) return progress;
  // The build id matched BUILD_ID_PATTERN (letters, digits, . _ -): safe inside the quotes.
  const query = `${SearchAttributes.buildId.name} = "${id}" AND ${SearchAttributes.status.name} = "running" AND ExecutionStatus = "Running"`;
  const running = new Set<string>();
  try {
    for await (const workflow of client.workflow.list({ query, pageSize: RUNNING_NODES_LIMIT })) {
      const uniqueId = workflow.typedSearchAttributes.get(SearchAttributes.uniqueId);
      if (uniqueId) running.add(uniqueId);
      if (running.size >= RUNNING_NODES_LIMIT) break;
    }
  } catch {
    return progress; // visibility unavailable: pending it stays
  }
  if (running.size === 0) return progress;
  const nodes = progress.nodes.map((n) => (n.status === 'pending' && running.has(n.uniqueId) ? { ...n, status: 'running' as const } : n));
  const counts: Record<string, number> = {};
  for (const n of nodes) counts[n.status] = (counts[n.status] ?? 0) + 1;
  return { ...progress, nodes, counts };
}

async function liveBuild(client: Client, id: string): Promise<LiveBuild | undefined> {
  const description = await describeOrUndefined(client, buildWorkflowId(id));
  if (!description) return undefined;
  if (description.status.name !== 'RUNNING') return { description };
  try {
    const handle = client.workflow.getHandle(buildWorkflowId(id));
    const progress = await client.withDeadline(Date.now() + PROGRESS_QUERY_DEADLINE_MS, () => handle.query(progressQuery));
    return { description, progress: await withRunningNodes(client, id, progress) };
  } catch {
    // Not queryable right now (no worker has picked it up yet, or it just closed): no progress.
    return { description };
  }
}

/**
 * A build's status: as recorded, unless the store still says running while Temporal says it
 * closed (its end was not recorded: the store was away) or the store has no row yet; then
 * Temporal's view (a completed build may have had warnings: only the record knows).
 */
export function buildStatus(recorded: string | undefined, workflowStatus: string | undefined): ExecutionStatus {
  if (recorded !== undefined && !(recorded === 'running' && workflowStatus !== undefined && workflowStatus !== 'RUNNING')) return recorded as ExecutionStatus;
  switch (workflowStatus ?? 'RUNNING') {
    case 'RUNNING':
    case 'CONTINUED_AS_NEW':
      return 'running';
    case 'COMPLETED':
      return 'success';
    case 'CANCELLED':
    case 'TERMINATED':
      return 'canceled';
    default:
      return 'error';
  }
}

function detailOf(deps: ServerDeps, id: string, root: ExecutionRow | undefined, descendants: ExecutionRow[], live: LiveBuild | undefined): z.infer<typeof BuildDetail> {
  const workflowId = buildWorkflowId(id);
  const reruns = new Map<number, ExecutionRow[]>();
  for (const row of descendants) {
    if (row.parent_id === null || row.parent_id === root?.id) continue;
    reruns.set(row.parent_id, [...(reruns.get(row.parent_id) ?? []), row]);
  }
  const nodes = descendants.filter((row) => root && row.parent_id === root.id).map((row) => ({ ...nodeOf(row), reruns: (reruns.get(row.id) ?? []).map(nodeOf) }));
  const nodeCounts: Record<string, number> = {};
  for (const node of nodes) nodeCounts[node.status] = (nodeCounts[node.status] ?? 0) + 1;
  const runId = root ? runIdOfKey(root.execution_key) : (live?.description.runId ?? null);
  const workflowStatus = live?.description.status.name;
  // Not recorded yet: what its memo says (the target is known once it is recorded).
  const memo = live?.description.memo;
  const liveSchedule = memo?.[SCHEDULE_MEMO_KEY] as { name?: unknown } | undefined;
  return {
    buildId: id,
    workflowId,
    runId,
    executionId: root?.id ?? null,
    pipeline: root?.pipeline ?? null,
    project: str(root?.execution_metadata?.project) ?? live?.progress?.projectName ?? null,
    target: root ? (str(root.execution_metadata?.target) ?? null) : null,
    trigger: root ? triggerOfRecord(root.execution_metadata) : (buildTriggerOf(memo, {}) ?? null),
    ...scheduleOf(root ? str(root.execution_metadata?.schedule) : str(liveSchedule?.name)),
    status: buildStatus(root?.status, workflowStatus),
    startDate: root ? root.start_date.toISOString() : iso(live?.description.startTime ?? null),
    endDate: root ? iso(root.end_date) : iso(live?.description.closeTime ?? null),
    durationSeconds: root?.duration_seconds ?? null,
    totalRows: root?.total_rows ?? null,
    nodeCounts,
    uiUrl: workflowUrl(deps, workflowId, runId),
    nodes,
    workflowStatus: workflowStatus?.toLowerCase(),
    progress: live?.progress,
  };
}

export type BuildDetailBody = z.infer<typeof BuildDetail>;
export const BuildDetailSchema = BuildDetail;

/** One build as GET /builds/{buildId} answers it (also what its event stream sends). 404 when nobody knows it. */
export async function readBuildDetail(deps: ServerDeps, id: string): Promise<BuildDetailBody> {
  const root = await buildExecution(deps.pool, id);
  let live: LiveBuild | undefined;
  if (!root || root.status === 'running') {
    try {
      live = await withTemporal(deps, (client) => liveBuild(client, id));
    } catch (err) {
      // The store knows it: answer without Temporal's view rather than not at all.
      if (!root) throw err;
    }
  }
  if (!root && !live) throw notFound(`build ${id}`);
  const descendants = root ? await descendantsOf(deps.pool, root.id) : [];
  return detailOf(deps, id, root, descendants, live);
}

export function buildRoutes(app: Api, deps: ServerDeps): void {
  app.get('/builds', {
    schema: {
      summary: 'List dbt builds, newest first',
      description:
        'From the metadata store: each build with its node counts by status, target, trigger and schedule. `project` matches the build pipeline name or the dbt project name; ' +
        '`target` the dbt target named at start (exactly); `trigger` what started it; `schedule` the Watcher schedule (name or Temporal Schedule ID); ' +
        'from/to bound start_date (to excluded; from after to is a 400).',
      tags: TAGS,
      querystring: z
        .object({
          status: executionStatus.optional(),
          project: lookupName(512).optional(),
          target: lookupName(64).optional(),
          trigger: buildTrigger.optional(),
          schedule: scheduleFilter.optional(),
          from: timestamp.optional(),
          to: timestamp.optional(),
          limit,
          offset,
        })
        .strict(),
      response: { 200: z.object({ builds: z.array(BuildSummary), limit: z.number().int(), offset: z.number().int() }), ...errorResponses },
    },
  }, async (request) => {
    const q = request.query;
    if (q.from && q.to && q.from > q.to) {
      const message = `from (${q.from.toISOString()}) is after to (${q.to.toISOString()}): give a from at or before to`;
      throw new ApiError(400, 'bad_request', message, [
        { field: 'querystring.from', message: 'must not be after to' },
        { field: 'querystring.to', message: 'must not be before from' },
      ]);
    }
    const rows = await listBuilds(deps.pool, q);
    return { builds: rows.map((row) => summaryOf(deps, row)), limit: q.limit, offset: q.offset };
  });

  app.get('/builds/:buildId', {
    schema: {
      summary: 'One dbt build with its nodes',
      description: 'Its node executions (reruns below each), and while it runs its live `progress` from Temporal. 404 when neither the metadata store nor Temporal knows it.',
      tags: TAGS,
      params: z.object({ buildId }),
      response: { 200: BuildDetail, ...errorResponses },
    },
  }, async (request) => readBuildDetail(deps, request.params.buildId));

  app.post('/builds', {
    schema: {
      summary: 'Start a dbt build',
      description: "Starts the `dbtBuild` workflow on the server's task queue (a worker runs dbt). 409 when the buildId was used before; 503 when Temporal is not reachable.",
      tags: TAGS,
      body: buildInputSchema(),
      response: { 201: StartedBuild, ...errorResponses },
    },
  }, async (request, reply) => {
    const id = request.body.buildId ?? newBuildId();
    const workflowId = buildWorkflowId(id);
    const taken = () => conflict(`buildId: build ${id} already exists (workflow ${workflowId}); pick another buildId`);
    if (await buildExecution(deps.pool, id)) throw taken();
    const runId = await withTemporal(deps, async (client) => {
      // Temporal lets a closed workflow's id be used again: a build id never is.
      if (await describeOrUndefined(client, workflowId)) throw taken();
      try {
        const { handle } = await startBuild(client, { ...request.body, buildId: id }, { taskQueue: deps.temporal.taskQueue, trigger: 'api' });
        // client.workflow.start returns this handle; startBuild types it as a plain WorkflowHandle.
        return (handle as WorkflowHandleWithFirstExecutionRunId).firstExecutionRunId;
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) throw taken();
        throw err;
      }
    });
    request.log.info({ buildId: id, runId }, 'build started');
    return reply.code(201).send({ buildId: id, workflowId, runId, uiUrl: workflowUrl(deps, workflowId, runId) });
  });

  app.post('/builds/:buildId/cancel', {
    schema: {
      summary: 'Request cancellation of a running dbt build',
      description: 'Like `watcher cancel`: Temporal cancels the build, which stops dbt and records its nodes as canceled. 409 when it has already ended.',
      tags: TAGS,
      params: z.object({ buildId }),
      response: { 202: z.object({ buildId: z.string(), status: z.literal('cancel_requested') }), ...errorResponses },
    },
  }, async (request, reply) => {
    const id = request.params.buildId;
    await withTemporal(deps, async (client) => {
      const description = await describeOrUndefined(client, buildWorkflowId(id));
      if (!description) {
        if (await buildExecution(deps.pool, id)) throw conflict(`buildId: build ${id} has already ended`);
        throw notFound(`build ${id}`);
      }
      if (description.status.name !== 'RUNNING') throw conflict(`buildId: build ${id} has already ended (${description.status.name.toLowerCase()})`);
      try {
        await client.workflow.getHandle(buildWorkflowId(id)).cancel();
      } catch (err) {
        // It closed between describe and cancel.
        if (err instanceof WorkflowNotFoundError) throw conflict(`buildId: build ${id} has already ended`);
        throw err;
      }
    });
    request.log.info({ buildId: id }, 'build cancellation requested');
    return reply.code(202).send({ buildId: id, status: 'cancel_requested' as const });
  });

  app.get('/node_executions', {
    schema: {
      summary: 'Executions of dbt nodes and SDK pipelines, newest first',
      description: 'Every execution but build roots (GET /builds lists those). `pipeline` is an exact pipeline name (a dbt unique_id for dbt nodes); `buildId` keeps the executions of one build (nodes and reruns).',
      tags: TAGS,
      querystring: z.object({ pipeline: lookupName(512).optional(), status: executionStatus.optional(), buildId: buildId.optional(), limit, offset }).strict(),
      response: { 200: z.object({ executions: z.array(NodeExecution), limit: z.number().int(), offset: z.number().int() }), ...errorResponses },
    },
  }, async (request) => {
    const q = request.query;
    let buildRootId: number | undefined;
    if (q.buildId !== undefined) {
      const root = await buildExecution(deps.pool, q.buildId);
      if (!root) throw new ApiError(404, 'not_found', `buildId: build ${q.buildId} not found`, [{ field: 'buildId', message: 'not found' }]);
      buildRootId = root.id;
    }
    const rows = await listExecutions(deps.pool, { pipeline: q.pipeline, status: q.status, buildRootId, limit: q.limit, offset: q.offset });
    return { executions: rows.map(nodeOf), limit: q.limit, offset: q.offset };
  });

  app.get('/lineage/:address', {
    schema: {
      summary: "An address's upstream or downstream addresses",
      description: 'From the lineage closure, nearest first, each with its depth and one shortest path. `depth` keeps those at most that far.',
      tags: TAGS,
      params: z.object({ address: lookupName(1024) }),
      querystring: z.object({ direction: z.enum(['upstream', 'downstream']).default('upstream'), depth: z.coerce.number().int().min(1).max(1000).optional() }).strict(),
      response: {
        200: z.object({
          address: z.string(),
          direction: z.enum(['upstream', 'downstream']),
          addresses: z.array(z.object({ address: z.string(), depth: z.number().int(), path: z.array(z.string()) })),
        }),
        ...errorResponses,
      },
    },
  }, async (request) => {
    const { address } = request.params;
    const { direction, depth } = request.query;
    if (!(await addressExists(deps.pool, address))) throw notFound(`address ${address}`);
    const rows = direction === 'upstream' ? await upstreamAddresses(deps.pool, address) : await downstreamAddresses(deps.pool, address);
    return { address, direction, addresses: rows.filter((r) => depth === undefined || r.depth <= depth).map((r) => ({ address: r.address, depth: r.depth, path: r.path })) };
  });

  app.get('/watermarks', {
    schema: {
      summary: 'Pipelines and their watermarks',
      description: 'The pipeline named (exact name), or else every pipeline with a watermark or a next watermark, by name.',
      tags: TAGS,
      querystring: z.object({ name: lookupName(512).optional(), limit, offset }).strict(),
      response: {
        200: z.object({
          pipelines: z.array(z.object({ name: z.string(), pipelineType: z.string(), watermark: z.string().nullable(), nextWatermark: z.string().nullable(), updatedAt: isoDate.nullable() })),
          limit: z.number().int(),
          offset: z.number().int(),
        }),
        ...errorResponses,
      },
    },
  }, async (request) => {
    const q = request.query;
    const rows = await listWatermarks(deps.pool, q);
    return {
      pipelines: rows.map((r) => ({ name: r.name, pipelineType: r.pipeline_type, watermark: r.watermark, nextWatermark: r.next_watermark, updatedAt: iso(r.updated_at) })),
      limit: q.limit,
      offset: q.offset,
    };
  });
}
