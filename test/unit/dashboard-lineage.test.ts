// The lineage page's pure pieces: the fast layered layout (src/dashboard/layered.ts), the
// page's view helpers (src/dashboard/lineage-view.ts) and the server's graph shaping
// (src/server/lineage-graph.ts: addresses and pipelines, last status and freshness per node).
import { describe, expect, it } from 'vitest';
import { layeredLayout } from '../../src/dashboard/layered.js';
import { borderOf, fillOf, layoutFor, recentreAddress, settingsOf, shortLabel, summaryOf, withoutPipelines, type LineageNode } from '../../src/dashboard/lineage-view.js';
import type { FreshnessDecision } from '../../src/monitoring/freshness.js';
import { shapeLineageView } from '../../src/server/lineage-graph.js';
import type { LastExecution } from '../../src/store/queries.js';
import type { LineageEdge, LineageNode as StoredNode } from '../../src/store/reporting.js';

const e = (source: string, target: string) => ({ source, target });

describe('layeredLayout', () => {
  it('puts every node right of its upstream nodes, sources next to their nearest consumer', () => {
    const { positions, layers, backEdges } = layeredLayout(['a', 'b', 'c', 'd', 's'], [e('a', 'b'), e('b', 'c'), e('a', 'c'), e('s', 'c'), e('c', 'd')]);
    expect(backEdges).toBe(0);
    expect(layers.get('a')).toBe(0);
    expect(layers.get('b')).toBe(1);
    expect(layers.get('c')).toBe(2);
    expect(layers.get('d')).toBe(3);
    expect(layers.get('s')).toBe(1); // pulled right, next to c
    for (const [s, t] of [['a', 'b'], ['b', 'c'], ['c', 'd'], ['s', 'c']] as const) expect(positions.get(s)!.x).toBeLessThan(positions.get(t)!.x);
  });

  it('ends on cycles and self-edges, ignoring the edges that close a cycle', () => {
    const { positions, backEdges } = layeredLayout(['a', 'b', 'c'], [e('a', 'b'), e('b', 'c'), e('c', 'a'), e('b', 'b')]);
    expect(backEdges).toBe(1);
    expect(positions.size).toBe(3);
    expect(positions.get('a')!.x).toBeLessThan(positions.get('b')!.x);
  });

  it('gives distinct positions to every node, ignores edges to unknown nodes, and lays out an empty graph', () => {
    const ids = Array.from({ length: 50 }, (_, i) => `n${i}`);
    const { positions } = layeredLayout(ids, [...ids.slice(1).map((id, i) => e(`n${i}`, id)), e('n1', 'elsewhere')]);
    expect(new Set([...positions.values()].map((p) => `${p.x},${p.y}`)).size).toBe(50);
    expect(layeredLayout([], []).positions.size).toBe(0);
  });

  it('folds a tall layer into columns', () => {
    const ids = ['root', ...Array.from({ length: 100 }, (_, i) => `leaf${i}`)];
    const { positions } = layeredLayout(ids, ids.slice(1).map((id) => e('root', id)), { maxRows: 25 });
    const leaves = ids.slice(1).map((id) => positions.get(id)!);
    expect(new Set(leaves.map((p) => p.x)).size).toBe(4);
    expect(new Set(leaves.map((p) => p.y)).size).toBe(25);
  });

  it('orders a layer to follow its upstream order (no crossings in two parallel chains)', () => {
    const { positions } = layeredLayout(['a1', 'b1', 'b2', 'a2'], [e('a1', 'a2'), e('b1', 'b2')]);
    expect(Math.sign(positions.get('a1')!.y - positions.get('b1')!.y)).toBe(Math.sign(positions.get('a2')!.y - positions.get('b2')!.y));
  });

  it('lays out 5,000 nodes in well under a second', () => {
    const n = 5000;
    const ids = Array.from({ length: n }, (_, i) => `n${i}`);
    const edges = ids.flatMap((id, i) => (i < 50 ? [] : [e(`n${(i * 7919) % i}`, id), e(`n${Math.floor(i / 2)}`, id)]));
    const started = performance.now();
    const { positions } = layeredLayout(ids, edges);
    expect(positions.size).toBe(n);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe('the lineage page view', () => {
  const node = (over: Partial<LineageNode>): LineageNode => ({
    id: 'a:1', kind: 'address', name: 'db.schema.orders', type: 'relation', upstreamDepth: 0, downstreamDepth: 0, status: null, lastRun: null, freshness: null, dueBy: null, ...over,
  });

  it('reads its settings from the address, bad values falling back to the defaults', () => {
    expect(settingsOf('?address=db.s.orders&direction=upstream&depth=5')).toEqual({ address: 'db.s.orders', direction: 'upstream', depth: 5 });
    expect(settingsOf('?direction=sideways&depth=-2')).toEqual({ address: undefined, direction: 'both', depth: 3 });
    expect(settingsOf('?depth=100000&address=%20')).toEqual({ address: undefined, direction: 'both', depth: 100 });
  });

  it('uses dagre up to 300 nodes and the layered layout above', () => {
    expect(layoutFor(300)).toBe('dagre');
    expect(layoutFor(301)).toBe('layered');
  });

  it('labels relations by table and dbt pipelines by name, colours by status and freshness', () => {
    expect(shortLabel({ kind: 'address', name: 'shop.t_1.fct_orders' })).toBe('fct_orders');
    expect(shortLabel({ kind: 'pipeline', name: 'model.shop.fct_orders' })).toBe('fct_orders');
    expect(shortLabel({ kind: 'pipeline', name: 'load_orders' })).toBe('load_orders');
    expect(fillOf({ status: 'error' })).toBe('#c62828');
    expect(fillOf({ status: null })).toBe('#cfd6e4');
    expect(borderOf({ freshness: 'stale' }).colour).toBe('#d50000');
    expect(borderOf({ freshness: null }).label).toBe('no pipeline known');
  });

  it('recentres on an address itself and on a pipeline’s target', () => {
    expect(recentreAddress(node({}))).toBe('db.schema.orders');
    expect(recentreAddress(node({ kind: 'pipeline', name: 'model.shop.orders', targets: ['db.s.orders'] }))).toBe('db.s.orders');
    expect(recentreAddress(node({ kind: 'pipeline', name: 'p', targets: [] }))).toBeUndefined();
  });

  it('folds pipelines into edges between the relations they read and write (big graphs)', () => {
    const nodes = [node({ id: 'a:1' }), node({ id: 'a:2' }), node({ id: 'a:3' }), node({ id: 'p:1', kind: 'pipeline' }), node({ id: 'p:2', kind: 'pipeline' })];
    // a1, a2 -> p1 -> a3; a3 -> p2 -> a3 (a self-edge, dropped); a1 -> p2 (two pipelines, one edge a1 -> a3)
    const folded = withoutPipelines({ nodes, edges: [e('a:1', 'p:1'), e('a:2', 'p:1'), e('p:1', 'a:3'), e('a:3', 'p:2'), e('a:1', 'p:2'), e('p:2', 'a:3')] });
    expect(folded.nodes.map((n) => n.id)).toEqual(['a:1', 'a:2', 'a:3']);
    expect(folded.edges).toEqual([e('a:1', 'a:3'), e('a:2', 'a:3')]);
  });

  it('sums up the graph and says when it was cut', () => {
    const nodes = [node({}), node({ id: 'a:2' }), node({ id: 'p:1', kind: 'pipeline' })];
    expect(summaryOf({ nodes, edges: [e('a:1', 'p:1'), e('p:1', 'a:2')], truncated: false, limit: 2000 })).toBe('2 relations, 1 pipeline, 2 edges');
    expect(summaryOf({ nodes, edges: [], truncated: true, limit: 2 })).toMatch(/truncated: only the 2 nearest relations/);
  });
});

describe('shapeLineageView', () => {
  const address = (id: number, name: string): StoredNode => ({
    id, name, address_type_name: 'relation', address_type_group_name: 'database', database_name: 'db', schema_name: 's', table_name: name, upstream_depth: null, downstream_depth: null,
  });
  const edge = (s: number, t: number, p: number, name: string): LineageEdge => ({ source_address_id: s, target_address_id: t, pipeline_id: p, pipeline_name: name });
  const run = (pipeline: number, status: string, start: string, id = pipeline): LastExecution => ({ pipeline_id: pipeline, execution_id: id, status, start_date: new Date(start), end_date: null });
  const fresh = (kind: 'fresh' | 'stale'): FreshnessDecision => ({ kind, lastDml: new Date('2026-12-01T00:00:00Z'), dueBy: new Date('2026-12-02T00:00:00Z'), threshold: { number: 1, datepart: 'day', usedChildConfig: true } });

  it('puts each pipeline between its sources and targets, once, with its run and freshness', () => {
    // raw -> p10 -> a, raw -> p10 -> b (one pipeline, two targets); a -> p11 -> c; b -> p12 -> c (two writers of c)
    const view = shapeLineageView(
      { nodes: [address(1, 'raw'), address(2, 'a'), address(3, 'b'), address(4, 'c')], edges: [edge(1, 2, 10, 'load'), edge(1, 3, 10, 'load'), edge(2, 4, 11, 'm.x.c1'), edge(3, 4, 12, 'm.x.c2')] },
      [],
      [run(10, 'success', '2026-12-02T10:00:00Z'), run(11, 'success', '2026-12-02T11:00:00Z'), run(12, 'error', '2026-12-02T12:00:00Z')],
      new Map<number, FreshnessDecision>([[10, fresh('fresh')], [11, fresh('stale')], [12, { kind: 'skip', reason: 'no_threshold' }]]),
    );
    expect(view.nodes.map((n) => n.id)).toEqual(['a:1', 'a:2', 'a:3', 'a:4', 'p:10', 'p:11', 'p:12']);
    expect(view.edges).toEqual([e('a:1', 'p:10'), e('p:10', 'a:2'), e('p:10', 'a:3'), e('a:2', 'p:11'), e('p:11', 'a:4'), e('a:3', 'p:12'), e('p:12', 'a:4')]);
    const byId = new Map(view.nodes.map((n) => [n.id, n]));
    expect(byId.get('a:1')).toMatchObject({ status: null, freshness: null, writers: [] }); // nothing writes raw
    expect(byId.get('a:2')).toMatchObject({ status: 'success', freshness: 'fresh', dueBy: '2026-12-02T00:00:00.000Z', writers: ['load'] });
    // c: the latest run of its writers (p12 errored last), the worst freshness (p11 is stale)
    expect(byId.get('a:4')).toMatchObject({ status: 'error', lastRun: '2026-12-02T12:00:00.000Z', freshness: 'stale', writers: ['m.x.c1', 'm.x.c2'] });
    expect(byId.get('p:10')).toMatchObject({ kind: 'pipeline', name: 'load', status: 'success', freshness: 'fresh', targets: ['a', 'b'] });
    expect(byId.get('p:12')).toMatchObject({ status: 'error', freshness: 'no_threshold', dueBy: null });
  });

  it('leaves status and freshness empty for a pipeline never run and never checked', () => {
    const view = shapeLineageView({ nodes: [address(1, 'a'), address(2, 'b')], edges: [edge(1, 2, 5, 'p')] }, [], [], new Map());
    expect(view.nodes.find((n) => n.id === 'p:5')).toMatchObject({ status: null, lastRun: null, freshness: null });
    expect(view.nodes.find((n) => n.id === 'a:2')).toMatchObject({ status: null, freshness: null, writers: ['p'] });
  });

  it('gives no due date past year 9999 (a huge threshold), rather than one the API cannot answer', () => {
    const far: FreshnessDecision = { kind: 'fresh', lastDml: new Date('2026-12-01T00:00:00Z'), dueBy: new Date(Date.UTC(20000, 0, 1)), threshold: { number: 18000, datepart: 'year', usedChildConfig: true } };
    const view = shapeLineageView({ nodes: [address(1, 'a'), address(2, 'b')], edges: [edge(1, 2, 5, 'p')] }, [], [], new Map([[5, far]]));
    expect(view.nodes.find((n) => n.id === 'p:5')).toMatchObject({ freshness: 'fresh', dueBy: null });
  });

  it("shows the run of an address's writer whose sources are outside the graph (at its depth), without drawing that writer", () => {
    const view = shapeLineageView(
      { nodes: [address(1, 'edge_of_graph'), address(2, 'b')], edges: [edge(1, 2, 5, 'p')] },
      [{ address_id: 1, pipeline_id: 9, pipeline_name: 'm.x.upstream_writer' }, { address_id: 2, pipeline_id: 5, pipeline_name: 'p' }],
      [run(9, 'fail', '2026-12-02T09:00:00Z')],
      new Map<number, FreshnessDecision>([[9, fresh('stale')]]),
    );
    expect(view.nodes.map((n) => n.id)).toEqual(['a:1', 'a:2', 'p:5']);
    expect(view.nodes[0]).toMatchObject({ status: 'fail', freshness: 'stale', writers: ['m.x.upstream_writer'] });
  });
});
