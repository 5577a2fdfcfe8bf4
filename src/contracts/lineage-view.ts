// The dashboard's lineage graph as the API answers it (GET /dashboard/lineage): shaped by
// src/server/lineage-graph.ts, drawn by src/dashboard/. Types only.

export type LineageDirection = 'upstream' | 'downstream' | 'both';

export type FreshnessState = 'fresh' | 'stale' | 'muted' | 'no_dml' | 'no_threshold';

export interface LineageViewNode {
  /** `a:<address id>` or `p:<pipeline id>`. */
  id: string;
  kind: 'address' | 'pipeline';
  name: string;
  /** The address type (relation, source, ...); null for a pipeline. */
  type: string | null;
  /** Hops from the centre (addresses of a centred graph only; 0 for the centre). */
  upstreamDepth: number | null;
  downstreamDepth: number | null;
  /** Last execution status: a pipeline's own; an address's latest writer's. Null when never run or no writer is known. */
  status: string | null;
  /** Start of that execution (ISO). */
  lastRun: string | null;
  /** Freshness state: a pipeline's own; an address's worst writer's. Null when no writer is known. */
  freshness: FreshnessState | null;
  /** When a fresh pipeline turns stale (ISO), or since when it is (a stale one's due time). */
  dueBy: string | null;
  /** An address's writers, or a pipeline's targets (names). */
  writers?: string[];
  targets?: string[];
}

export interface LineageViewEdge {
  source: string;
  target: string;
}

export interface LineageView {
  /** The centre's name as stored; null for the whole lineage. */
  address: string | null;
  direction: LineageDirection;
  depth: number;
  /** The most addresses shown. */
  limit: number;
  /** More addresses were within reach than `limit`: the nearest (or newest) are shown. */
  truncated: boolean;
  nodes: LineageViewNode[];
  edges: LineageViewEdge[];
}

/** GET /dashboard/lineage/addresses */
export interface AddressMatch {
  name: string;
  type: string;
  /** It has lineage edges (a graph to show). */
  hasLineage: boolean;
}
