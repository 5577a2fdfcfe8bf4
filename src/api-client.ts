// A typed client for Watcher's HTTP API: its dbt builds and the etl-watcher metadata routes.
// Only fetch: no server code (fastify, pg) is loaded (type imports are erased), so it runs
// anywhere Node 20 runs.
//
//   const watcher = new Watcher({ baseUrl: 'http://127.0.0.1:8300', token: process.env.WATCHER_API_TOKEN });
//   const { buildId } = await watcher.startBuild({ projectDir: '/abs/path/to/project' });
//   const build = await watcher.waitForBuild(buildId, { timeoutMs: 600_000 });
import type { BuildInputRaw } from './contracts/build-input.js';
import type { BuildProgress } from './contracts/messages.js';
import type { BuildTrigger } from './contracts/trigger.js';
import type { FreshnessReport } from './monitoring/freshness.js';
import type { TimelinessReport } from './monitoring/timeliness.js';
import type { ExecutionView as PipelineExecution } from './store/api-executions.js';
import type { PipelineInput as PipelineConfig } from './store/catalog.js';

// Types only (erased at runtime, so no server code is loaded): the same definitions the
// workflows, the store and the checks use, so the client cannot drift from the routes.
export type { BuildProgress, NodeProgress } from './contracts/messages.js';
export type { Datepart } from './contracts/node-config.js';
export type { BuildTrigger } from './contracts/trigger.js';
/** What `POST /pipeline` takes (the body the etl-watcher SDK sends). */
export type { PipelineInput as PipelineConfig } from './store/catalog.js';
/** An execution as `GET /pipeline_execution/{id}` returns it (its direct children too). */
export type { ExecutionView as PipelineExecution } from './store/api-executions.js';
export type { FreshnessReport } from './monitoring/freshness.js';
export type { TimelinessReport } from './monitoring/timeliness.js';

export type ExecutionStatus = 'running' | 'success' | 'warn' | 'error' | 'fail' | 'skipped' | 'not_run' | 'canceled';

// --- Watcher's own resources (GET/POST /builds, /node_executions, /lineage, /watermarks) ---

export interface NodeExecution {
  id: number;
  parentId: number | null;
  /** A dbt unique_id for dbt nodes, the pipeline's name otherwise. */
  pipeline: string;
  pipelineType: string;
  status: ExecutionStatus;
  startDate: string;
  endDate: string | null;
  durationSeconds: number | null;
  totalRows: number | null;
  attempt?: number;
  message?: string;
  metadata: Record<string, unknown> | null;
}

export interface BuildSummary {
  buildId: string;
  workflowId: string;
  runId: string | null;
  /** The root execution's id; null until the build is recorded. */
  executionId: number | null;
  pipeline: string | null;
  project: string | null;
  /** The dbt target named at start; null for the profile's default target. */
  target: string | null;
  /** What started it: `watcher build`, a Watcher schedule, or POST /builds; null when unknown. */
  trigger: BuildTrigger | null;
  /** The Watcher schedule that started it, by name, and its Temporal Schedule ID. */
  schedule: string | null;
  scheduleId: string | null;
  status: ExecutionStatus;
  startDate: string | null;
  endDate: string | null;
  durationSeconds: number | null;
  totalRows: number | null;
  nodeCounts: Partial<Record<ExecutionStatus, number>>;
  /** The build's workflow in the Temporal Web UI, when the server knows the UI's address. */
  uiUrl?: string;
}

export interface BuildDetail extends BuildSummary {
  nodes: Array<NodeExecution & { reruns: NodeExecution[] }>;
  /** Temporal's view of the workflow (running, completed, failed, canceled, ...), when asked. */
  workflowStatus?: string;
  /** Live progress while the build runs. */
  progress?: BuildProgress;
}

export interface BuildFilters {
  status?: ExecutionStatus;
  /** The build pipeline's name, or the dbt project's name. */
  project?: string;
  /** The dbt target named at start. */
  target?: string;
  trigger?: BuildTrigger;
  /** A Watcher schedule's name (or its Temporal Schedule ID). */
  schedule?: string;
  /** start date >= from */
  from?: Date | string;
  /** start date < to (from after to is refused) */
  to?: Date | string;
  limit?: number;
  offset?: number;
}

/** What `POST /builds` accepts: the `dbtBuild` input (projectDir is a path on the worker's machine). */
export type StartBuildInput = BuildInputRaw;

export interface StartedBuild {
  buildId: string;
  workflowId: string;
  runId: string;
  uiUrl?: string;
}

export interface ExecutionFilters {
  pipeline?: string;
  status?: ExecutionStatus;
  buildId?: string;
  limit?: number;
  offset?: number;
}

export interface LineageAddress {
  address: string;
  depth: number;
  path: string[];
}

export interface PipelineWatermark {
  name: string;
  pipelineType: string;
  watermark: string | null;
  nextWatermark: string | null;
  updatedAt: string | null;
}

// --- etl-watcher's routes (the same shapes its Python SDK sends and reads) ---

export interface SyncedPipeline {
  id: number;
  active: boolean;
  load_lineage: boolean;
  watermark: string | null;
  /** true when this call created the pipeline (201), false when it existed (200). */
  created: boolean;
}

export interface AddressInput {
  name: string;
  address_type_name: string;
  address_type_group_name: string;
  database_name?: string | null;
  schema_name?: string | null;
  table_name?: string | null;
  primary_key?: string | null;
  address_metadata?: Record<string, unknown> | null;
}

export interface StartExecutionInput {
  pipeline_id: number;
  /** Defaults to now on the server. */
  start_date?: Date | string;
  parent_id?: number | null;
  watermark?: string | null;
  next_watermark?: string | null;
}

export interface EndExecutionInput {
  id: number;
  end_date: Date | string;
  completed_successfully: boolean;
  inserts?: number | null;
  updates?: number | null;
  soft_deletes?: number | null;
  total_rows?: number | null;
  execution_metadata?: Record<string, unknown> | null;
}

// --- the client ---

/** A failed request: the HTTP status (0 when none came back), the error kind and message from the body. */
export class WatcherApiError extends Error {
  constructor(
    readonly status: number,
    readonly kind: string,
    message: string,
    readonly details?: Array<{ field: string; message: string }>,
  ) {
    super(message);
    this.name = 'WatcherApiError';
  }
}

export interface WatcherOptions {
  /** e.g. http://127.0.0.1:8300 */
  baseUrl: string;
  /** A bearer token (`watcher token create`); leave out for `watcher dev` on loopback. */
  token?: string;
  fetch?: typeof fetch;
  /** Per request; default 30 s. */
  timeoutMs?: number;
}

type Query = Record<string, string | number | Date | undefined>;

function queryString(query: Query | undefined): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined) continue;
    params.set(key, value instanceof Date ? value.toISOString() : String(value));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

const isoOf = (d: Date | string | undefined) => (d instanceof Date ? d.toISOString() : d);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class Watcher {
  private readonly baseUrl: string;
  private readonly token?: string;
  private readonly fetchFn: typeof fetch;
  private readonly timeoutMs: number;

  constructor(options: WatcherOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.token = options.token;
    this.fetchFn = options.fetch ?? fetch;
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** One request; JSON in and out. Any non-2xx throws WatcherApiError. */
  async request<T>(method: string, path: string, options: { body?: unknown; query?: Query } = {}): Promise<{ status: number; body: T }> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let response: Response;
    try {
      response = await this.fetchFn(`${this.baseUrl}${path}${queryString(options.query)}`, {
        method,
        headers,
        body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
      throw new WatcherApiError(0, timedOut ? 'timeout' : 'network', `${method} ${path}: ${timedOut ? `no answer within ${this.timeoutMs} ms` : String(err instanceof Error ? (err.cause ?? err.message) : err)}`);
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    if (!response.ok) {
      const e = (typeof body === 'object' && body !== null ? body : {}) as { message?: unknown; error?: unknown; details?: unknown };
      const message = typeof e.message === 'string' ? e.message : text || response.statusText;
      const kind = typeof e.error === 'string' ? e.error : `http_${response.status}`;
      throw new WatcherApiError(response.status, kind, message, Array.isArray(e.details) ? (e.details as WatcherApiError['details']) : undefined);
    }
    return { status: response.status, body: body as T };
  }

  // Builds

  async listBuilds(filters: BuildFilters = {}): Promise<BuildSummary[]> {
    const query = { ...filters, from: isoOf(filters.from), to: isoOf(filters.to) };
    return (await this.request<{ builds: BuildSummary[] }>('GET', '/builds', { query })).body.builds;
  }

  async getBuild(buildId: string): Promise<BuildDetail> {
    return (await this.request<BuildDetail>('GET', `/builds/${encodeURIComponent(buildId)}`)).body;
  }

  async startBuild(input: StartBuildInput): Promise<StartedBuild> {
    return (await this.request<StartedBuild>('POST', '/builds', { body: input })).body;
  }

  async cancelBuild(buildId: string): Promise<{ buildId: string; status: 'cancel_requested' }> {
    return (await this.request<{ buildId: string; status: 'cancel_requested' }>('POST', `/builds/${encodeURIComponent(buildId)}/cancel`)).body;
  }

  /** Poll until the build has ended; throws WatcherApiError (kind `timeout`) after timeoutMs. */
  async waitForBuild(buildId: string, options: { timeoutMs?: number; pollMs?: number } = {}): Promise<BuildDetail> {
    const timeoutMs = options.timeoutMs ?? 30 * 60_000;
    const pollMs = options.pollMs ?? 2_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const build = await this.getBuild(buildId);
      if (build.status !== 'running') return build;
      if (Date.now() + pollMs > deadline) throw new WatcherApiError(0, 'timeout', `build ${buildId} still running after ${timeoutMs} ms`);
      await sleep(pollMs);
    }
  }

  async listNodeExecutions(filters: ExecutionFilters = {}): Promise<NodeExecution[]> {
    return (await this.request<{ executions: NodeExecution[] }>('GET', '/node_executions', { query: { ...filters } })).body.executions;
  }

  async lineage(address: string, options: { direction?: 'upstream' | 'downstream'; depth?: number } = {}): Promise<LineageAddress[]> {
    return (await this.request<{ addresses: LineageAddress[] }>('GET', `/lineage/${encodeURIComponent(address)}`, { query: { ...options } })).body.addresses;
  }

  async watermarks(options: { name?: string; limit?: number; offset?: number } = {}): Promise<PipelineWatermark[]> {
    return (await this.request<{ pipelines: PipelineWatermark[] }>('GET', '/watermarks', { query: { ...options } })).body.pipelines;
  }

  // etl-watcher's metadata routes

  /** Get or create a pipeline by name (names are trimmed and lower-cased by the server). */
  async syncPipeline(config: PipelineConfig): Promise<SyncedPipeline> {
    const { status, body } = await this.request<Omit<SyncedPipeline, 'created'>>('POST', '/pipeline', { body: config });
    return { id: body.id, active: body.active, load_lineage: body.load_lineage, watermark: body.watermark, created: status === 201 };
  }

  /** Declare a pipeline's lineage (the server only stores it while the pipeline's load_lineage is true). */
  async addressLineage(input: { pipeline_id: number; source_addresses: AddressInput[]; target_addresses: AddressInput[] }): Promise<void> {
    await this.request('POST', '/address_lineage', { body: input });
  }

  /** Start an execution; the same start sent again (same pipeline, parent and start_date) returns the same id. */
  async startExecution(input: StartExecutionInput): Promise<{ id: number }> {
    const body = { ...input, start_date: isoOf(input.start_date) };
    return (await this.request<{ id: number }>('POST', '/start_pipeline_execution', { body })).body;
  }

  /** End an execution; on success the server promotes the pipeline's next_watermark. */
  async endExecution(input: EndExecutionInput): Promise<void> {
    await this.request('POST', '/end_pipeline_execution', { body: { ...input, end_date: isoOf(input.end_date) } });
  }

  async getExecution(id: number): Promise<PipelineExecution & { child_executions: PipelineExecution[] }> {
    return (await this.request<PipelineExecution & { child_executions: PipelineExecution[] }>('GET', `/pipeline_execution/${id}`)).body;
  }

  /** Run the freshness check now. */
  async freshness(): Promise<FreshnessReport> {
    return (await this.request<FreshnessReport>('POST', '/freshness')).body;
  }

  /** Run the timeliness check now over executions started in the last `lookback_minutes` (server default 60). */
  async timeliness(input: { lookback_minutes?: number } = {}): Promise<TimelinessReport> {
    return (await this.request<TimelinessReport>('POST', '/timeliness', { body: input })).body;
  }
}
