import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../bench/lib/prng.js';
import { lineageClosure, upstreamOf, type ClosureRow, type Edge } from '../../src/store/lineage-closure.js';


function randomInt(rand: () => number, n: number): number {
  return Math.floor(rand() * n);
}

/** `count` distinct edges s -> t with s < t (so the graph is a DAG) over nodes 0..n-1. */
function randomDag(rand: () => number, n: number, count: number): Edge[] {
  const seen = new Set<string>();
  const edges: Edge[] = [];
  while (edges.length < count) {
    const a = randomInt(rand, n);
    const b = randomInt(rand, n);
    if (a === b) continue;
    const [s, t] = a < b ? [a, b] : [b, a];
    const key = `${s}>${t}`;
    if (seen.has(key)) continue;
    seen.add(key);
    edges.push([s, t]);
  }
  return edges;
}

/** Any directed edges (cycles, self-loops and duplicates allowed). */
function randomDigraph(rand: () => number, n: number, count: number): Edge[] {
  return Array.from({ length: count }, (): Edge => [randomInt(rand, n), randomInt(rand, n)]);
}

/**
 * Brute-force shortest distances by Floyd-Warshall (an algorithm independent of the BFS under
 * test): dist[s][t] = fewest edges from s to t, Infinity when unreachable, 0 on the diagonal.
 */
function allPairsDistances(n: number, edges: readonly Edge[]): number[][] {
  const dist = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 0 : Infinity)));
  for (const [s, t] of edges) if (s !== t) dist[s]![t] = 1;
  for (let k = 0; k < n; k++) {
    const dk = dist[k]!;
    for (let i = 0; i < n; i++) {
      const di = dist[i]!;
      const dik = di[k]!;
      if (dik === Infinity) continue;
      for (let j = 0; j < n; j++) {
        const via = dik + dk[j]!;
        if (via < di[j]!) di[j] = via;
      }
    }
  }
  return dist;
}

function edgeSet(edges: readonly Edge[]): Set<string> {
  return new Set(edges.map(([s, t]) => `${s}>${t}`));
}

/** Every invariant a closure row must hold on its own: path from source to target over real edges. */
function expectValidPath(row: ClosureRow, edges: Set<string>): void {
  expect(row.path.length).toBe(row.depth + 1);
  expect(row.path[0]).toBe(row.source);
  expect(row.path[row.path.length - 1]).toBe(row.target);
  for (let i = 1; i < row.path.length; i++) {
    expect(edges.has(`${row.path[i - 1]}>${row.path[i]}`), `edge ${row.path[i - 1]}>${row.path[i]} in path ${row.path.join(',')}`).toBe(true);
  }
  // A shortest path never visits an address twice.
  expect(new Set(row.path).size).toBe(row.path.length);
}

function expectOneRowPerPair(rows: readonly ClosureRow[]): void {
  const pairs = rows.map((r) => `${r.source}>${r.target}`);
  expect(new Set(pairs).size).toBe(pairs.length);
}

function rowFor(rows: readonly ClosureRow[], source: number, target: number): ClosureRow | undefined {
  return rows.find((r) => r.source === source && r.target === target);
}

function sorted(rows: readonly ClosureRow[]): ClosureRow[] {
  return [...rows].sort((a, b) => a.source - b.source || a.target - b.target);
}

describe('lineageClosure: small graphs', () => {
  it('gives every source a self row at depth 0 with a one-element path, even with no edges', () => {
    expect(sorted(lineageClosure([3, 1, 2], []))).toEqual([
      { source: 1, target: 1, depth: 0, path: [1] },
      { source: 2, target: 2, depth: 0, path: [2] },
      { source: 3, target: 3, depth: 0, path: [3] },
    ]);
  });

  it('returns no rows for no sources, whatever the edges', () => {
    expect(lineageClosure([], [[1, 2], [2, 3]])).toEqual([]);
  });

  it('gives only the self row for a source that is a sink', () => {
    expect(lineageClosure([2], [[1, 2]])).toEqual([{ source: 2, target: 2, depth: 0, path: [2] }]);
  });

  it('walks a chain: one row per downstream address, depth = distance, path = the chain prefix', () => {
    const edges: Edge[] = [[1, 2], [2, 3], [3, 4]];
    expect(sorted(lineageClosure([1], edges))).toEqual([
      { source: 1, target: 1, depth: 0, path: [1] },
      { source: 1, target: 2, depth: 1, path: [1, 2] },
      { source: 1, target: 3, depth: 2, path: [1, 2, 3] },
      { source: 1, target: 4, depth: 3, path: [1, 2, 3, 4] },
    ]);
  });

  it('never follows edges upstream: a source in the middle of a chain sees only what is below it', () => {
    const rows = lineageClosure([3], [[1, 2], [2, 3], [3, 4]]);
    expect(sorted(rows).map((r) => r.target)).toEqual([3, 4]);
  });

  it('gives a diamond one row per (source, target), with the shortest depth and a valid path', () => {
    const edges: Edge[] = [[1, 2], [1, 3], [2, 4], [3, 4], [4, 5]];
    const rows = lineageClosure([1], edges);
    expectOneRowPerPair(rows);
    expect(rows).toHaveLength(5);
    const four = rowFor(rows, 1, 4)!;
    expect(four.depth).toBe(2);
    expect([[1, 2, 4], [1, 3, 4]]).toContainEqual(four.path);
    const five = rowFor(rows, 1, 5)!;
    expect(five.depth).toBe(3);
    for (const row of rows) expectValidPath(row, edgeSet(edges));
  });

  it('takes the shortcut when one branch of a diamond is longer, even if the long branch is listed first', () => {
    const edges: Edge[] = [[1, 2], [2, 3], [3, 4], [4, 5], [1, 5]];
    const rows = lineageClosure([1], edges);
    expect(rowFor(rows, 1, 5)).toEqual({ source: 1, target: 5, depth: 1, path: [1, 5] });
    expect(rowFor(rows, 1, 4)).toEqual({ source: 1, target: 4, depth: 3, path: [1, 2, 3, 4] });
  });

  it('terminates on a cycle and lists each address once per source, the source itself at depth 0', () => {
    const edges: Edge[] = [[1, 2], [2, 3], [3, 1], [3, 4]];
    const rows = lineageClosure([1, 2, 3], edges);
    expectOneRowPerPair(rows);
    expect(rows).toHaveLength(12); // each of 1, 2, 3 reaches 1, 2, 3 and 4
    expect(rowFor(rows, 1, 1)).toEqual({ source: 1, target: 1, depth: 0, path: [1] });
    expect(rowFor(rows, 2, 1)).toEqual({ source: 2, target: 1, depth: 2, path: [2, 3, 1] });
    expect(rowFor(rows, 3, 2)).toEqual({ source: 3, target: 2, depth: 2, path: [3, 1, 2] });
    expect(rowFor(rows, 2, 4)).toEqual({ source: 2, target: 4, depth: 2, path: [2, 3, 4] });
    for (const row of rows) expectValidPath(row, edgeSet(edges));
  });

  it('terminates on a two-node cycle', () => {
    const rows = lineageClosure([1], [[1, 2], [2, 1]]);
    expect(sorted(rows)).toEqual([
      { source: 1, target: 1, depth: 0, path: [1] },
      { source: 1, target: 2, depth: 1, path: [1, 2] },
    ]);
  });

  it('keeps disconnected sources apart: no row joins two components', () => {
    const rows = lineageClosure([1, 10], [[1, 2], [2, 3], [10, 11]]);
    expect(sorted(rows).map((r) => [r.source, r.target])).toEqual([
      [1, 1],
      [1, 2],
      [1, 3],
      [10, 10],
      [10, 11],
    ]);
  });

  it('gives one row per target when an edge is listed more than once', () => {
    const rows = lineageClosure([1], [[1, 2], [1, 2], [2, 3], [2, 3], [1, 2]]);
    expect(sorted(rows)).toEqual([
      { source: 1, target: 1, depth: 0, path: [1] },
      { source: 1, target: 2, depth: 1, path: [1, 2] },
      { source: 1, target: 3, depth: 2, path: [1, 2, 3] },
    ]);
  });

  it('ignores a self-loop edge: the source keeps its depth-0 row and a looping target appears once', () => {
    expect(lineageClosure([1], [[1, 1]])).toEqual([{ source: 1, target: 1, depth: 0, path: [1] }]);
    const rows = lineageClosure([1], [[1, 2], [2, 2], [2, 3]]);
    expect(sorted(rows)).toEqual([
      { source: 1, target: 1, depth: 0, path: [1] },
      { source: 1, target: 2, depth: 1, path: [1, 2] },
      { source: 1, target: 3, depth: 2, path: [1, 2, 3] },
    ]);
  });

  it('treats a source listed twice as one source', () => {
    const rows = lineageClosure([1, 1, 1], [[1, 2]]);
    expectOneRowPerPair(rows);
    expect(rows).toHaveLength(2);
  });

  it('accepts any iterable of sources (a Set, a generator)', () => {
    function* gen(): Generator<number> {
      yield 1;
      yield 5;
    }
    const edges: Edge[] = [[1, 2], [5, 6]];
    expect(sorted(lineageClosure(gen(), edges))).toEqual(sorted(lineageClosure(new Set([5, 1]), edges)));
    expect(lineageClosure(gen(), edges)).toHaveLength(4);
  });

  it('does not depend on the order of the edges (same pairs and depths when shuffled)', () => {
    const edges: Edge[] = [[1, 2], [1, 3], [2, 4], [3, 4], [4, 5], [3, 5], [5, 6]];
    const reversed = [...edges].reverse();
    const key = (rows: ClosureRow[]) => sorted(rows).map((r) => `${r.source}>${r.target}@${r.depth}`);
    expect(key(lineageClosure([1, 3], reversed))).toEqual(key(lineageClosure([1, 3], edges)));
  });
});

describe('lineageClosure: against a brute-force shortest-path computation', () => {
  function checkAgainstBruteForce(n: number, edges: Edge[], sources: number[]): void {
    const rows = lineageClosure(sources, edges);
    const dist = allPairsDistances(n, edges);
    const expected: string[] = [];
    for (const s of new Set(sources)) {
      for (let t = 0; t < n; t++) if (dist[s]![t] !== Infinity) expected.push(`${s}>${t}@${dist[s]![t]}`);
    }
    const actual = rows.map((r) => `${r.source}>${r.target}@${r.depth}`);
    expect(actual.sort()).toEqual(expected.sort());
    const set = edgeSet(edges);
    for (const row of rows) expectValidPath(row, set);
  }

  it('matches Floyd-Warshall on a random DAG of 200 nodes and 600 edges, from every node', () => {
    const rand = mulberry32(20240601);
    const n = 200;
    const edges = randomDag(rand, n, 600);
    checkAgainstBruteForce(n, edges, Array.from({ length: n }, (_, i) => i));
  });

  it.each([1, 2, 3, 4, 5])('matches Floyd-Warshall on a random cyclic graph with duplicates and self-loops (seed %i)', (seed) => {
    const rand = mulberry32(seed);
    const n = 60;
    const edges = randomDigraph(rand, n, 150);
    const sources = Array.from({ length: 20 }, () => randomInt(rand, n));
    checkAgainstBruteForce(n, edges, sources);
  });

  it('handles 2,000 nodes and 6,000 edges from 50 sources with one valid row per reachable pair', { timeout: 20_000 }, () => {
    const rand = mulberry32(42);
    const n = 2_000;
    const edges = randomDag(rand, n, 6_000);
    const sources = Array.from({ length: 50 }, (_, i) => i * 7);
    const started = Date.now();
    const rows = lineageClosure(sources, edges);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(10_000);

    // Reachable counts by an independent iterative DFS.
    const adj = new Map<number, number[]>();
    for (const [s, t] of edges) adj.set(s, [...(adj.get(s) ?? []), t]);
    let expectedRows = 0;
    for (const s of sources) {
      const seen = new Set([s]);
      const stack = [s];
      while (stack.length) {
        for (const t of adj.get(stack.pop()!) ?? []) {
          if (seen.has(t)) continue;
          seen.add(t);
          stack.push(t);
        }
      }
      expectedRows += seen.size;
    }
    expect(rows).toHaveLength(expectedRows);
    expectOneRowPerPair(rows);
    const set = edgeSet(edges);
    for (const row of rows) {
      expect(row.path.length).toBe(row.depth + 1);
      expect(row.path[0]).toBe(row.source);
      expect(row.path[row.path.length - 1]).toBe(row.target);
      for (let i = 1; i < row.path.length; i++) if (!set.has(`${row.path[i - 1]}>${row.path[i]}`)) expect.fail(`not an edge in ${row.path.join(',')}`);
    }
  });
});

describe('upstreamOf', () => {
  it('includes the nodes themselves, even with no edges', () => {
    expect(upstreamOf([4, 7], [])).toEqual(new Set([4, 7]));
  });

  it('walks every edge backwards to the roots, and never downstream', () => {
    const edges: Edge[] = [[1, 2], [2, 3], [3, 4], [10, 3], [4, 5]];
    expect(upstreamOf([4], edges)).toEqual(new Set([1, 2, 3, 4, 10]));
  });

  it('collects the union of the ancestors of several nodes', () => {
    const edges: Edge[] = [[1, 2], [3, 4], [5, 6]];
    expect(upstreamOf([2, 4], edges)).toEqual(new Set([1, 2, 3, 4]));
  });

  it('terminates on a cycle and on a self-loop', () => {
    expect(upstreamOf([1], [[1, 2], [2, 3], [3, 1]])).toEqual(new Set([1, 2, 3]));
    expect(upstreamOf([1], [[1, 1]])).toEqual(new Set([1]));
  });

  it('agrees with the closure: x is upstream of t exactly when the closure from x reaches t', () => {
    const rand = mulberry32(7);
    const n = 80;
    const edges = randomDigraph(rand, n, 160);
    const all = Array.from({ length: n }, (_, i) => i);
    const rows = lineageClosure(all, edges);
    for (const t of [0, 13, 42, 79]) {
      const expected = new Set(rows.filter((r) => r.target === t).map((r) => r.source));
      expect(upstreamOf([t], edges)).toEqual(expected);
    }
  });
});
