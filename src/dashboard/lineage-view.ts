// The lineage page's view of GET /dashboard/lineage: the answer's types, which layout a graph
// gets, short labels, and the colours of status (fill) and freshness (border). Pure: unit-tested.
import type { AddressMatch, FreshnessState, LineageDirection, LineageView, LineageViewNode } from '../contracts/lineage-view.js';
import { statusColour } from './format.js';

export type Direction = LineageDirection;
export type LineageNode = LineageViewNode;
export type LineageGraphData = LineageView;
export type { AddressMatch, FreshnessState };

export const DIRECTIONS: readonly Direction[] = ['upstream', 'downstream', 'both'];
export const DEFAULT_DIRECTION: Direction = 'both';
export const DEFAULT_DEPTH = 3;
export const MAX_DEPTH = 100;

/** dagre draws the nicer graph but takes seconds past ~1,000 nodes: above this, our own layered layout. */
export const DAGRE_MAX_NODES = 300;

export function layoutFor(nodeCount: number): 'dagre' | 'layered' {
  return nodeCount <= DAGRE_MAX_NODES ? 'dagre' : 'layered';
}

/**
 * A big graph is drawn without its pipeline nodes (half the elements to lay out and draw): each
 * source -> pipeline -> target becomes source -> target; an address keeps its writer's status.
 */
export function withoutPipelines(data: Pick<LineageGraphData, 'nodes' | 'edges'>): Pick<LineageGraphData, 'nodes' | 'edges'> {
  const pipelines = new Set(data.nodes.filter((n) => n.kind === 'pipeline').map((n) => n.id));
  const into = new Map<string, string[]>();
  const outOf = new Map<string, string[]>();
  const push = (map: Map<string, string[]>, key: string, value: string) => (map.get(key) ?? map.set(key, []).get(key)!).push(value);
  for (const e of data.edges) {
    if (pipelines.has(e.target)) push(into, e.target, e.source);
    else if (pipelines.has(e.source)) push(outOf, e.source, e.target);
  }
  const edges = new Map<string, { source: string; target: string }>();
  for (const [p, sources] of into) for (const s of sources) for (const t of outOf.get(p) ?? []) if (s !== t) edges.set(`${s}>${t}`, { source: s, target: t });
  return { nodes: data.nodes.filter((n) => !pipelines.has(n.id)), edges: [...edges.values()] };
}

/** The page's settings from its address (?address=&direction=&depth=), bad values replaced by the defaults. */
export function settingsOf(search: string): { address?: string; direction: Direction; depth: number } {
  const q = new URLSearchParams(search);
  const address = q.get('address')?.trim() || undefined;
  const d = q.get('direction');
  const direction = DIRECTIONS.includes(d as Direction) ? (d as Direction) : DEFAULT_DIRECTION;
  const n = Number(q.get('depth'));
  const depth = Number.isInteger(n) && n >= 1 ? Math.min(n, MAX_DEPTH) : DEFAULT_DEPTH;
  return { address, direction, depth };
}

/** A node's label: a relation's last name part (its table), a dbt pipeline's name without its type and package. */
export function shortLabel(node: Pick<LineageNode, 'kind' | 'name'>): string {
  const parts = node.name.split('.');
  if (node.kind === 'pipeline' && parts.length >= 3) return parts.slice(2).join('.');
  return parts[parts.length - 1] || node.name;
}

const NO_STATUS = '#cfd6e4';

/** Fill: the last execution's status; grey when nothing ran (or no writer is known). */
export function fillOf(node: Pick<LineageNode, 'status'>): string {
  return node.status ? statusColour(node.status) : NO_STATUS;
}

export const FRESHNESS_BORDERS: Record<FreshnessState | 'none', { colour: string; width: number; label: string }> = {
  stale: { colour: '#d50000', width: 5, label: 'stale' },
  fresh: { colour: '#00c853', width: 4, label: 'fresh' },
  no_dml: { colour: '#ffb300', width: 2, label: 'never written' },
  no_threshold: { colour: '#78909c', width: 1, label: 'no freshness threshold' },
  muted: { colour: '#b0bec5', width: 1, label: 'freshness check muted' },
  none: { colour: '#78909c', width: 1, label: 'no pipeline known' },
};

/** Border: the freshness state. */
export function borderOf(node: Pick<LineageNode, 'freshness'>): { colour: string; width: number; label: string } {
  return FRESHNESS_BORDERS[node.freshness ?? 'none'];
}

/** Where a click on a node recentres the graph: an address on itself, a pipeline on (the first of) its targets. */
export function recentreAddress(node: Pick<LineageNode, 'kind' | 'name' | 'targets'>): string | undefined {
  return node.kind === 'address' ? node.name : node.targets?.[0];
}

/** One line about the graph: how many relations, pipelines and edges, and whether it was cut. */
export function summaryOf(data: Pick<LineageGraphData, 'nodes' | 'edges' | 'truncated' | 'limit'>): string {
  const addresses = data.nodes.filter((n) => n.kind === 'address').length;
  const pipelines = data.nodes.length - addresses;
  const plural = (k: number, one: string, many: string) => `${k.toLocaleString()} ${k === 1 ? one : many}`;
  const text = `${plural(addresses, 'relation', 'relations')}, ${plural(pipelines, 'pipeline', 'pipelines')}, ${plural(data.edges.length, 'edge', 'edges')}`;
  return data.truncated ? `${text} (truncated: only the ${data.limit.toLocaleString()} nearest relations are shown)` : text;
}
