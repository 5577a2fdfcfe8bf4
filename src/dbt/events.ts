// The one parser of dbt's output: its JSON log lines (`--log-format json`), one object per line,
// `{"data": {...}, "info": {...}}`, and the lines `dbt ls` prints. Lines that are not JSON events
// (stray prints) are skipped.

export interface DbtNodeInfo {
  unique_id: string;
  resource_type?: string;
  node_name?: string;
  materialized?: string;
  node_status?: string;
  node_started_at?: string;
  node_finished_at?: string;
  node_relation?: { database?: string; schema?: string; alias?: string; relation_name?: string };
}

export interface DbtRunResultData {
  status: string;
  message?: string;
  thread?: string;
  execution_time?: number;
  num_failures?: number;
  adapter_response?: Record<string, unknown>;
  timing_info?: Array<{ name: string; started_at?: string; completed_at?: string }>;
}

export interface DbtEvent {
  /** Event name, e.g. `NodeFinished`. */
  name: string;
  code: string;
  level: string;
  msg: string;
  invocationId: string;
  /** RFC 3339 timestamp of the event. */
  ts: string;
  data: Record<string, unknown>;
}

export function parseDbtLogLine(line: string): DbtEvent | null {
  if (!line.startsWith('{')) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const { info, data } = parsed as { info?: Record<string, unknown>; data?: Record<string, unknown> };
  if (!info || typeof info.name !== 'string') return null;
  return {
    name: info.name,
    code: String(info.code ?? ''),
    level: String(info.level ?? ''),
    msg: String(info.msg ?? ''),
    invocationId: String(info.invocation_id ?? ''),
    ts: String(info.ts ?? ''),
    data: data ?? {},
  };
}

/** The node_info block of a node event, if any. */
export function nodeInfoOf(event: DbtEvent): DbtNodeInfo | undefined {
  const info = event.data.node_info as DbtNodeInfo | undefined;
  return info && typeof info.unique_id === 'string' && info.unique_id ? info : undefined;
}

export function runResultOf(event: DbtEvent): DbtRunResultData | undefined {
  const rr = event.data.run_result as DbtRunResultData | undefined;
  return rr && typeof rr.status === 'string' ? rr : undefined;
}

/** Events the orchestrator reacts to. */
export const DbtEventNames = {
  version: 'MainReportVersion',
  nodeStart: 'NodeStart',
  nodeFinished: 'NodeFinished',
  /** A worker thread crashed: emitted instead of NodeFinished. */
  threadCrash: 'GenericExceptionOnRun',
  /** A fatal error (parse error, bad profile, Ctrl-C). */
  fatal: 'MainEncounteredError',
  runResultError: 'RunResultError',
  /** dbt cancelled a running query (fail-fast, Ctrl-C); `data.conn_name` is the node. */
  cancelLine: 'LogCancelLine',
  commandCompleted: 'CommandCompleted',
  /** dbt wrote an artifact; run_results.json (`RunExecutionResult`) at the end, or first thing on SIGINT. */
  artifactWritten: 'ArtifactWritten',
  /** The run's summary; `data.keyboard_interrupt` when dbt was stopped by SIGINT. */
  endOfRunSummary: 'EndOfRunSummary',
} as const;

/** Error-level text of an event, for error reports quoting dbt. */
export function errorTextOf(event: DbtEvent): string {
  const exc = event.data.exc;
  return typeof exc === 'string' && exc ? exc : event.msg;
}

/** The events the worker reads from dbt's stdout: these by name, and every error-level one. */
export const STREAMED_EVENTS = { names: Object.values(DbtEventNames), levels: ['error'] } as const;

const RELEVANT_NAMES = STREAMED_EVENTS.names.map((name) => `"${name}"`);
const STREAMED_LEVEL = new RegExp(`"level":\\s*"(${STREAMED_EVENTS.levels.join('|')})"`);

/**
 * Whether a stdout line is worth parsing: dbt's debug log is mostly SQL and connection chatter
 * (tens of MB for a big build), and parsing it only to drop it costs the worker CPU and memory.
 * Lines that are not dbt events (no invocation id) are kept: they are dbt's plain output.
 */
export function isRelevantLogLine(line: string): boolean {
  if (!line.includes('"invocation_id"')) return true;
  return RELEVANT_NAMES.some((name) => line.includes(name)) || STREAMED_LEVEL.test(line);
}

/** The node of one `dbt ls --output json --output-keys unique_id` line; dbt's plain-text warnings have none. */
export function uniqueIdOfListLine(line: string): string | undefined {
  const text = line.trim();
  if (!text.startsWith('{')) return undefined;
  try {
    const row = JSON.parse(text) as { unique_id?: unknown };
    return typeof row.unique_id === 'string' ? row.unique_id : undefined;
  } catch {
    return undefined;
  }
}
