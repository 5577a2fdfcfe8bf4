// Translation of dbt's events and run_results entries into Watcher's DbtNodeResult.
// Kept apart from the parser (events.ts) and from the invocation (process.ts).
import type { DbtNodeResult } from '../contracts/messages.js';
import { normalizeDbtStatus } from '../contracts/status.js';
import { displayRelation, type RunResultEntry } from './artifacts.js';
import { DbtEventNames, nodeInfoOf, runResultOf, type DbtEvent } from './events.js';

/** dbt's node timestamps are naive UTC (no `Z`); make them explicit. */
export function utcTimestamp(ts: string | null | undefined): string | undefined {
  if (!ts) return undefined;
  return /[zZ]|[+-]\d\d:?\d\d$/.test(ts) ? ts : `${ts}Z`;
}

function adapterFields(adapter: Record<string, unknown> | undefined): Pick<DbtNodeResult, 'rowsAffected' | 'queryId' | 'adapterCode'> {
  const out: Pick<DbtNodeResult, 'rowsAffected' | 'queryId' | 'adapterCode'> = {};
  const code = adapter?.code;
  if (typeof code === 'string' && code) out.adapterCode = code;
  const rows = adapter?.rows_affected;
  // Postgres reports -1 for DDL (views); that is "unknown", not a count.
  if (typeof rows === 'number' && Number.isFinite(rows) && rows >= 0) out.rowsAffected = Math.round(rows);
  const queryId = adapter?.query_id;
  if (typeof queryId === 'string' && queryId) out.queryId = queryId;
  return out;
}

function emptyToUndefined(s: string | null | undefined): string | undefined {
  return s ? s : undefined;
}

/** A NodeFinished event (or GenericExceptionOnRun, which replaces it when a thread crashes). */
export function resultFromEvent(event: DbtEvent): DbtNodeResult | undefined {
  const info = nodeInfoOf(event);
  if (!info) return undefined;
  const rr = runResultOf(event);
  const rawStatus = rr?.status ?? 'error';
  const message = emptyToUndefined(rr?.message) ?? (rr ? undefined : event.msg);
  const failures = rr?.num_failures;
  return {
    uniqueId: info.unique_id,
    resourceType: info.resource_type ?? info.unique_id.split('.')[0] ?? 'unknown',
    status: normalizeDbtStatus(rawStatus, message),
    dbtStatus: rawStatus,
    message,
    startedAt: utcTimestamp(info.node_started_at),
    finishedAt: utcTimestamp(info.node_finished_at) ?? (event.ts || undefined),
    executionTimeSeconds: typeof rr?.execution_time === 'number' ? rr.execution_time : undefined,
    ...adapterFields(rr?.adapter_response),
    failures: typeof failures === 'number' && failures > 0 ? failures : undefined,
    thread: emptyToUndefined(rr?.thread),
    relation: displayRelation(info.node_relation?.relation_name),
    materialized: emptyToUndefined(info.materialized),
    source: 'event',
  };
}

/** An entry of run_results.json, for nodes whose event never came (fail-fast, crashes). */
export function resultFromRunResult(entry: RunResultEntry): DbtNodeResult {
  const execute = entry.timing?.find((t) => t.name === 'execute') ?? entry.timing?.[0];
  return {
    uniqueId: entry.unique_id,
    resourceType: entry.unique_id.split('.')[0] ?? 'unknown',
    status: normalizeDbtStatus(entry.status, entry.message),
    dbtStatus: entry.status,
    message: emptyToUndefined(entry.message),
    startedAt: utcTimestamp(execute?.started_at),
    finishedAt: utcTimestamp(execute?.completed_at),
    executionTimeSeconds: entry.execution_time,
    ...adapterFields(entry.adapter_response),
    failures: typeof entry.failures === 'number' && entry.failures > 0 ? entry.failures : undefined,
    thread: emptyToUndefined(entry.thread_id),
    relation: displayRelation(entry.relation_name),
    source: 'run_results',
  };
}

/** A result for a node dbt never reported. */
export function missingResult(uniqueId: string, status: 'not_run' | 'canceled', message: string): DbtNodeResult {
  return {
    uniqueId,
    resourceType: uniqueId.split('.')[0] ?? 'unknown',
    status,
    dbtStatus: status,
    message,
    source: 'missing',
  };
}

/**
 * Turns one invocation's event stream into node results, in order. Stateful for one reason:
 * when dbt cancels a running node's query (fail-fast, Ctrl-C) it logs LogCancelLine, then a
 * NodeFinished `error` for that node, while run_results.json says it was skipped; such a node
 * was not run to completion, so it is reported `not_run`, as run_results.json has it.
 */
export class EventTranslator {
  private readonly cancelledQueries = new Set<string>();

  /** The node result an event carries, if it is a terminal node event. */
  translate(event: DbtEvent): DbtNodeResult | undefined {
    if (event.name === DbtEventNames.cancelLine) {
      const conn = event.data.conn_name;
      if (typeof conn === 'string' && conn) this.cancelledQueries.add(conn);
      return undefined;
    }
    if (event.name !== DbtEventNames.nodeFinished && event.name !== DbtEventNames.threadCrash) return undefined;
    const result = resultFromEvent(event);
    if (result && result.status === 'error' && this.cancelledQueries.has(result.uniqueId)) {
      return { ...result, status: 'not_run', message: `dbt canceled this node's query before it finished (${result.message ?? 'no message'})` };
    }
    return result;
  }
}
