// Source freshness before a build (sourceFreshness `warn` / `skip-stale`), its pure parts: what
// dbt reported for each source (sources.json, plus the events of sources whose freshness could
// not be computed), and which planned nodes a `skip-stale` build leaves out.
import type { DbtNodeResult } from '../contracts/messages.js';
import {
  describeStaleSource,
  isStaleSource,
  type FreshnessPeriod,
  type SourceFreshnessResult,
  type SourceFreshnessStatus,
  type StaleSkip,
} from '../contracts/source-freshness.js';
import type { FreshnessThreshold, Manifest, SourceFreshnessEntry, SourcesJson } from '../dbt/artifacts.js';
import { utcTimestamp } from '../dbt/translate.js';
import { exactSelector } from '../dbt/selectors.js';
import { parentsThroughEphemerals } from './plan.js';

function period(t: FreshnessThreshold | null | undefined): FreshnessPeriod | undefined {
  return typeof t?.count === 'number' && t.count > 0 && typeof t.period === 'string' && t.period ? { count: t.count, period: t.period } : undefined;
}

function statusOf(raw: string): SourceFreshnessStatus {
  return raw === 'pass' || raw === 'warn' || raw === 'error' ? raw : 'runtime error';
}

function resultOfEntry(e: SourceFreshnessEntry): SourceFreshnessResult {
  const execute = e.timing?.find((t) => t.name === 'execute');
  const r: SourceFreshnessResult = { uniqueId: e.unique_id, status: statusOf(e.status) };
  if (e.max_loaded_at) r.maxLoadedAt = e.max_loaded_at;
  if (e.snapshotted_at) r.snapshottedAt = e.snapshotted_at;
  if (typeof e.max_loaded_at_time_ago_in_s === 'number') r.ageSeconds = e.max_loaded_at_time_ago_in_s;
  const warnAfter = period(e.criteria?.warn_after);
  const errorAfter = period(e.criteria?.error_after);
  if (warnAfter) r.warnAfter = warnAfter;
  if (errorAfter) r.errorAfter = errorAfter;
  if (e.criteria?.filter) r.filter = e.criteria.filter;
  if (e.error) r.message = e.error;
  const startedAt = utcTimestamp(execute?.started_at);
  const finishedAt = utcTimestamp(execute?.completed_at);
  if (startedAt) r.startedAt = startedAt;
  if (finishedAt) r.finishedAt = finishedAt;
  return r;
}

/**
 * Each wanted source's result: its sources.json entry, else its NodeFinished event (dbt leaves
 * runtime errors out of the file). Sources dbt said nothing about (no freshness configured) are
 * not in the list. `wanted` undefined: every source reported.
 */
export function sourceFreshnessResults(file: SourcesJson | undefined, events: readonly DbtNodeResult[], wanted?: ReadonlySet<string>): SourceFreshnessResult[] {
  const out = new Map<string, SourceFreshnessResult>();
  const isWanted = (id: string) => id.startsWith('source.') && (!wanted || wanted.has(id));
  for (const e of file?.results ?? []) if (isWanted(e.unique_id)) out.set(e.unique_id, resultOfEntry(e));
  for (const ev of events) {
    if (!isWanted(ev.uniqueId) || out.has(ev.uniqueId)) continue;
    const r: SourceFreshnessResult = { uniqueId: ev.uniqueId, status: statusOf(ev.dbtStatus) };
    if (ev.message) r.message = ev.message;
    if (ev.startedAt) r.startedAt = ev.startedAt;
    if (ev.finishedAt) r.finishedAt = ev.finishedAt;
    out.set(ev.uniqueId, r);
  }
  return [...out.values()].sort((a, b) => (a.uniqueId < b.uniqueId ? -1 : a.uniqueId > b.uniqueId ? 1 : 0));
}

/**
 * The planned nodes a `skip-stale` build leaves out, parents first (`consumers` in the plan's
 * topological order): a node whose every parent (looking through ephemeral models) is a stale
 * source, or a node left out for that reason. So a model on stale sources only is left out,
 * and so is what reads nothing but such models (as Cosmos does: it would only rebuild the same
 * data); a node that also reads a fresh source, a source whose freshness is unknown, a seed or a
 * model that is built, is built.
 */
export function decideStaleSkips(manifest: Manifest, consumers: readonly string[], results: readonly SourceFreshnessResult[]): StaleSkip[] {
  const stale = new Map(results.filter(isStaleSource).map((r) => [r.uniqueId, r]));
  if (stale.size === 0) return [];
  const skipped = new Map<string, StaleSkip>();
  const root = manifest.metadata.project_name ?? '';
  for (const id of consumers) {
    const node = manifest.nodes[id];
    const parents = parentsThroughEphemerals(manifest, id);
    if (!node || parents.length === 0 || !parents.every((p) => stale.has(p) || skipped.has(p))) continue;
    const staleParents = parents.filter((p) => stale.has(p));
    const skippedParents = parents.filter((p) => skipped.has(p));
    const said = staleParents.map((p) => describeStaleSource(stale.get(p)!));
    const cause = skippedParents.length === 0 ? `all sources stale: ${said.join('; ')}` : `all upstream stale: ${[...said, ...skippedParents.map((p) => `${p} (skipped)`)].join('; ')}`;
    const sources = new Set([...staleParents, ...skippedParents.flatMap((p) => skipped.get(p)!.sources)]);
    skipped.set(id, { uniqueId: id, cause, sources: [...sources].sort(), selector: exactSelector(node, root) });
  }
  return [...skipped.values()];
}
