// What a build's `dbt source freshness` found (sourceFreshness `warn` or `skip-stale`): each
// source's result, the nodes left out because everything they read is stale, and the summary
// the build's progress carries. Workflow-safe (types and pure text only).

/** A freshness period of a source's criteria, e.g. 1 hour. */
export interface FreshnessPeriod {
  count: number;
  period: string;
}

/** dbt's source freshness statuses: `error` is stale (past error_after), `runtime error` could not be computed. */
export type SourceFreshnessStatus = 'pass' | 'warn' | 'error' | 'runtime error';

/** One source's freshness, from sources.json (or, for a runtime error, from its event). */
export interface SourceFreshnessResult {
  uniqueId: string;
  status: SourceFreshnessStatus;
  /** dbt's own text of the newest loaded_at (kept as dbt wrote it: it is part of the alert's key). */
  maxLoadedAt?: string;
  snapshottedAt?: string;
  ageSeconds?: number;
  warnAfter?: FreshnessPeriod;
  errorAfter?: FreshnessPeriod;
  filter?: string;
  /** Why a runtime error could not compute freshness. */
  message?: string;
  startedAt?: string;
  finishedAt?: string;
}

/** A node the build leaves out because everything it reads is stale: its consumer ends `skipped` with this cause. */
export interface StaleSkip {
  uniqueId: string;
  cause: string;
  /** The stale sources it reads, directly or through the skipped nodes it reads. */
  sources: string[];
  /** dbt's exact selector of the node (to leave it out of the build). */
  selector: string;
}

/** The build's progress summary of its source freshness check. */
export interface SourceFreshnessSummary {
  mode: 'warn' | 'skip-stale';
  invocationId?: string;
  checked: number;
  /** Sources past error_after. */
  stale: string[];
  /** Sources past warn_after only. */
  warn: string[];
  /** Sources whose freshness could not be computed (built as if fresh). */
  failed: string[];
  /** Nodes left out of the build (skip-stale). */
  skipped: string[];
  /** What went wrong or was not done (the build went on and built everything affected). */
  warnings?: string[];
}

export function isStaleSource(r: Pick<SourceFreshnessResult, 'status'>): boolean {
  return r.status === 'error';
}

/** `1 hour`, `2 days`. */
export function describePeriod(p: FreshnessPeriod): string {
  return `${p.count} ${p.period}${p.count === 1 ? '' : 's'}`;
}

/** `source.shop.raw.orders (max_loaded_at 2026-12-01T10:00:00+00:00, error after 1 hour)`. */
export function describeStaleSource(r: SourceFreshnessResult): string {
  const facts = [`max_loaded_at ${r.maxLoadedAt ?? 'none'}`];
  if (r.errorAfter) facts.push(`error after ${describePeriod(r.errorAfter)}`);
  return `${r.uniqueId} (${facts.join(', ')})`;
}

/** Stale source -> the nodes it kept out of the build (directly or through a skipped parent). */
export function skippedNodesBySource(skips: readonly StaleSkip[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const s of skips) for (const source of s.sources) out.set(source, [...(out.get(source) ?? []), s.uniqueId]);
  return out;
}
