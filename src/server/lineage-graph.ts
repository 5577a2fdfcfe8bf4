// The dashboard's lineage graph: relations (addresses) and the pipelines between them, each
// with its last execution's status and its freshness state. Read from the existing pieces (the
// lineage graph around an address, the last execution per pipeline, the freshness decision)
// and shaped here by a pure function, capped at a number of addresses with a truncated flag.
import type { FreshnessState, LineageView, LineageViewEdge, LineageViewNode } from '../contracts/lineage-view.js';
import { freshnessOf, type FreshnessDecision } from '../monitoring/freshness.js';
import type { Pool } from '../store/db.js';
import { lineageOverview, writersOf, type AddressWriter } from '../store/lineage-view.js';
import { lastExecutionPerPipeline, type LastExecution } from '../store/queries.js';
import { lineageEdgesAmong, lineageGraph, type LineageDirection, type LineageEdge, type LineageNode } from '../store/reporting.js';

export interface LineageViewOptions {
  address?: string;
  direction: LineageDirection;
  depth: number;
  limit: number;
  now?: Date;
}

/** A date as ISO 8601, or null past year 9999 (a threshold of millions of years has no due date to show). */
const isoOrNull = (d: Date) => (Number.isFinite(d.getTime()) && d.getUTCFullYear() <= 9999 ? d.toISOString() : null);

/** How bad a freshness state is, for an address written by several pipelines (the worst wins). */
const FRESHNESS_RANK: Record<FreshnessState, number> = { stale: 4, fresh: 3, no_dml: 2, no_threshold: 1, muted: 0 };

export const freshnessState = (d: FreshnessDecision): FreshnessState => (d.kind === 'skip' ? d.reason : d.kind);

/**
 * Pure: the graph's addresses and edges, with runs and freshness, as nodes and edges to draw.
 * `writers`: every pipeline writing each address, also those whose sources lie outside the graph
 * (at its depth or its cap), so an address at the edge still shows its writer's run.
 */
export function shapeLineageView(
  graph: { nodes: readonly LineageNode[]; edges: readonly LineageEdge[] },
  writers: readonly AddressWriter[],
  runs: readonly LastExecution[],
  freshness: ReadonlyMap<number, FreshnessDecision>,
): { nodes: LineageViewNode[]; edges: LineageViewEdge[] } {
  const runOf = new Map(runs.map((r) => [r.pipeline_id, r]));
  const pipelines = new Map<number, { name: string; targets: Set<number> }>();
  const writerNames = new Map<number, string>();
  const writersOfAddress = new Map<number, Set<number>>();
  const addWriter = (addressId: number, pipelineId: number, name: string) => {
    const set = writersOfAddress.get(addressId) ?? new Set<number>();
    writersOfAddress.set(addressId, set);
    set.add(pipelineId);
    writerNames.set(pipelineId, name);
  };
  for (const w of writers) addWriter(w.address_id, w.pipeline_id, w.pipeline_name);
  const edges = new Map<string, LineageViewEdge>();
  const addEdge = (source: string, target: string) => edges.set(`${source}>${target}`, { source, target });
  for (const e of graph.edges) {
    const p = pipelines.get(e.pipeline_id) ?? { name: e.pipeline_name, targets: new Set<number>() };
    pipelines.set(e.pipeline_id, p);
    p.targets.add(e.target_address_id);
    addWriter(e.target_address_id, e.pipeline_id, e.pipeline_name);
    addEdge(`a:${e.source_address_id}`, `p:${e.pipeline_id}`);
    addEdge(`p:${e.pipeline_id}`, `a:${e.target_address_id}`);
  }
  const nameOf = new Map(graph.nodes.map((n) => [n.id, n.name]));
  const freshOf = (pipelineId: number) => {
    const d = freshness.get(pipelineId);
    return d ? { state: freshnessState(d), dueBy: d.kind === 'skip' ? null : isoOrNull(d.dueBy) } : undefined;
  };

  const nodes: LineageViewNode[] = graph.nodes.map((a) => {
    const writers = [...(writersOfAddress.get(a.id) ?? [])];
    // The latest run among its writers; the worst freshness among them.
    const latest = writers.map((w) => runOf.get(w)).filter((r): r is LastExecution => r !== undefined).sort((x, y) => y.start_date.getTime() - x.start_date.getTime() || y.execution_id - x.execution_id)[0];
    const worst = writers.map(freshOf).filter((f) => f !== undefined).sort((x, y) => FRESHNESS_RANK[y.state] - FRESHNESS_RANK[x.state])[0];
    return {
      id: `a:${a.id}`,
      kind: 'address',
      name: a.name,
      type: a.address_type_name,
      upstreamDepth: a.upstream_depth,
      downstreamDepth: a.downstream_depth,
      status: latest?.status ?? null,
      lastRun: latest ? latest.start_date.toISOString() : null,
      freshness: worst?.state ?? null,
      dueBy: worst?.dueBy ?? null,
      writers: writers.map((w) => writerNames.get(w)!).sort(),
    };
  });
  for (const [id, p] of [...pipelines].sort(([, x], [, y]) => x.name.localeCompare(y.name))) {
    const run = runOf.get(id);
    const fresh = freshOf(id);
    nodes.push({
      id: `p:${id}`,
      kind: 'pipeline',
      name: p.name,
      type: null,
      upstreamDepth: null,
      downstreamDepth: null,
      status: run?.status ?? null,
      lastRun: run ? run.start_date.toISOString() : null,
      freshness: fresh?.state ?? null,
      dueBy: fresh?.dueBy ?? null,
      targets: [...p.targets].map((t) => nameOf.get(t)!).sort(),
    });
  }
  return { nodes, edges: [...edges.values()] };
}

/** The graph around one address (or the whole lineage without one); undefined for an unknown address. */
export async function lineageView(pool: Pool, options: LineageViewOptions): Promise<LineageView | undefined> {
  const { direction, depth, limit } = options;
  let centre: string | null = null;
  let nodes: LineageNode[];
  let edges: LineageEdge[] | undefined;
  if (options.address !== undefined) {
    const graph = await lineageGraph(pool, options.address, direction, depth, limit + 1);
    if (!graph) return undefined;
    centre = graph.address;
    nodes = graph.nodes;
    if (nodes.length <= limit) edges = graph.edges;
  } else {
    nodes = await lineageOverview(pool, limit + 1);
  }
  const truncated = nodes.length > limit;
  if (truncated) nodes = nodes.slice(0, limit);
  edges ??= await lineageEdgesAmong(pool, nodes.map((n) => n.id));
  const writers = await writersOf(pool, nodes.map((n) => n.id));
  const pipelineIds = [...new Set([...edges.map((e) => e.pipeline_id), ...writers.map((w) => w.pipeline_id)])];
  const [runs, freshness] = await Promise.all([lastExecutionPerPipeline(pool, pipelineIds), freshnessOf(pool, pipelineIds, options.now)]);
  return { address: centre, direction, depth, limit, truncated, ...shapeLineageView({ nodes, edges }, writers, runs, freshness) };
}

