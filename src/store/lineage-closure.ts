// The lineage closure, computed by breadth-first search: one row per (source, target) that
// target is reachable from, with the shortest depth and one shortest path. Visiting each
// address once per source makes it correct for diamonds (one row, not one per path) and
// makes it end on cycles. Pure: unit-tested without a database.

export interface ClosureRow {
  source: number;
  target: number;
  depth: number;
  /** Address ids from source to target, both included (length = depth + 1). */
  path: number[];
}

export type Edge = readonly [source: number, target: number];

function adjacency(edges: readonly Edge[], reverse = false): Map<number, number[]> {
  const adj = new Map<number, number[]>();
  for (const [s, t] of edges) {
    const [from, to] = reverse ? [t, s] : [s, t];
    const list = adj.get(from);
    if (list) list.push(to);
    else adj.set(from, [to]);
  }
  return adj;
}

export function lineageClosure(sources: Iterable<number>, edges: readonly Edge[]): ClosureRow[] {
  const adj = adjacency(edges);
  const rows: ClosureRow[] = [];
  for (const source of new Set(sources)) {
    const parentOf = new Map<number, number>([[source, source]]);
    const depthOf = new Map<number, number>([[source, 0]]);
    const queue = [source];
    for (let i = 0; i < queue.length; i++) {
      const node = queue[i]!;
      for (const next of adj.get(node) ?? []) {
        if (depthOf.has(next)) continue;
        depthOf.set(next, depthOf.get(node)! + 1);
        parentOf.set(next, node);
        queue.push(next);
      }
    }
    for (const target of queue) {
      const path = [target];
      for (let n = target; n !== source; ) {
        n = parentOf.get(n)!;
        path.unshift(n);
      }
      rows.push({ source, target, depth: depthOf.get(target)!, path });
    }
  }
  return rows;
}

/** `nodes` and everything upstream of them (whose closure rows can change when they do). */
export function upstreamOf(nodes: Iterable<number>, edges: readonly Edge[]): Set<number> {
  const reverse = adjacency(edges, true);
  const seen = new Set(nodes);
  const queue = [...seen];
  for (let i = 0; i < queue.length; i++) {
    for (const prev of reverse.get(queue[i]!) ?? []) {
      if (!seen.has(prev)) {
        seen.add(prev);
        queue.push(prev);
      }
    }
  }
  return seen;
}
