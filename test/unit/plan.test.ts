import { describe, expect, it } from 'vitest';
import { planBuild, topologicalOrder } from '../../src/build/plan.js';
import type { PlannedNode } from '../../src/contracts/messages.js';
import type { Manifest, ManifestNode } from '../../src/dbt/artifacts.js';

function node(uniqueId: string, dependsOn: string[] = [], extra: Partial<ManifestNode> = {}): ManifestNode {
  const [resourceType, packageName, ...rest] = uniqueId.split('.');
  const name = rest[0] ?? 'x';
  return {
    unique_id: uniqueId,
    resource_type: resourceType!,
    name,
    package_name: packageName!,
    fqn: [packageName!, 'marts', name],
    relation_name: `"db"."analytics"."${name}"`,
    config: { materialized: resourceType === 'model' ? 'table' : resourceType === 'seed' ? 'seed' : resourceType === 'snapshot' ? 'snapshot' : 'test' },
    depends_on: { nodes: dependsOn },
    ...extra,
  };
}

function manifest(nodes: ManifestNode[], unitTests: ManifestNode[] = []): Manifest {
  return {
    metadata: { dbt_version: '1.11.16', project_name: 'shop' },
    nodes: Object.fromEntries(nodes.map((n) => [n.unique_id, n])),
    sources: { 'source.shop.raw.orders': node('source.shop.raw.orders') },
    unit_tests: Object.fromEntries(unitTests.map((n) => [n.unique_id, n])),
  };
}

const byId = (nodes: PlannedNode[]) => new Map(nodes.map((n) => [n.uniqueId, n]));

describe('planBuild: consumers', () => {
  const m = manifest([
    node('seed.shop.raw_customers', [], { original_file_path: 'seeds/raw_customers.csv' }),
    node('model.shop.stg_orders', ['source.shop.raw.orders']),
    node('model.shop.customers', ['seed.shop.raw_customers'], { original_file_path: 'models/marts/customers.sql' }),
    node('snapshot.shop.customers_snapshot', ['model.shop.customers']),
    node('model.shop.orders', ['model.shop.stg_orders', 'model.shop.customers']),
    node('analysis.shop.revenue', ['model.shop.orders']),
    node('operation.shop.hook', []),
    node('test.shop.not_null_orders_id', ['model.shop.orders']),
  ]);

  it('gives a consumer only to selected models, seeds and snapshots', () => {
    const plan = planBuild(
      m,
      new Set([
        'seed.shop.raw_customers',
        'model.shop.customers',
        'snapshot.shop.customers_snapshot',
        'analysis.shop.revenue',
        'operation.shop.hook',
        'test.shop.not_null_orders_id',
        'model.shop.does_not_exist',
        'source.shop.raw.orders',
      ]),
    );
    expect(plan.nodes.map((n) => n.uniqueId).sort()).toEqual(['model.shop.customers', 'seed.shop.raw_customers', 'snapshot.shop.customers_snapshot']);
  });

  it('fills each planned node from the manifest', () => {
    const plan = planBuild(m, new Set(['model.shop.customers', 'seed.shop.raw_customers']));
    expect(byId(plan.nodes).get('model.shop.customers')).toEqual({
      uniqueId: 'model.shop.customers',
      resourceType: 'model',
      name: 'customers',
      packageName: 'shop',
      selector: 'resource_type:model,package:shop,fqn:shop.marts.customers,path:models/marts/customers.sql',
      materialized: 'table',
      upstream: ['seed.shop.raw_customers'],
      tests: [],
      lineage: { sources: [] },
    });
  });

  it('gives each planned node the exact selector of its type, package, fqn and path, or no path without a file', () => {
    const plan = byId(planBuild(m, new Set(['seed.shop.raw_customers', 'model.shop.stg_orders', 'model.shop.customers'])).nodes);
    expect(plan.get('seed.shop.raw_customers')!.selector).toBe('resource_type:seed,package:shop,fqn:shop.marts.raw_customers,path:seeds/raw_customers.csv');
    expect(plan.get('model.shop.customers')!.selector).toBe('resource_type:model,package:shop,fqn:shop.marts.customers,path:models/marts/customers.sql');
    expect(plan.get('model.shop.stg_orders')!.selector).toBe('resource_type:model,package:shop,fqn:shop.marts.stg_orders');
  });

  it("gives a package's node its file name instead of its path, the manifest's project being the root (dbt resolves path: against it only)", () => {
    const withPackage = manifest([
      node('model.shop.orders', ['model.pkg.p'], { original_file_path: 'models/marts/orders.sql' }),
      node('model.pkg.p', [], { original_file_path: 'models/marts/p.sql' }),
    ]);
    const plan = byId(planBuild(withPackage, new Set(['model.shop.orders', 'model.pkg.p'])).nodes);
    expect(plan.get('model.pkg.p')!.selector).toBe('resource_type:model,package:pkg,fqn:pkg.marts.p,file:p.sql');
    expect(plan.get('model.shop.orders')!.selector).toBe('resource_type:model,package:shop,fqn:shop.marts.orders,path:models/marts/orders.sql');
    // without a project name, no node is known to be of the root project
    const anonymous = byId(planBuild({ ...withPackage, metadata: {} }, new Set(['model.shop.orders'])).nodes);
    expect(anonymous.get('model.shop.orders')!.selector).toBe('resource_type:model,package:shop,fqn:shop.marts.orders,file:orders.sql');
  });

  it('builds the selector from package and name when the node has no fqn', () => {
    const m2 = manifest([node('model.shop.a', [], { fqn: undefined, relation_name: null, config: undefined })]);
    const [planned] = planBuild(m2, new Set(['model.shop.a'])).nodes;
    expect(planned!.selector).toBe('resource_type:model,package:shop,fqn:shop.a');
    expect(planned!.lineage.target).toBeUndefined();
    expect(planned!.materialized).toBeUndefined();
  });

  it('reports project name and dbt version, or unknown', () => {
    expect(planBuild(m, new Set())).toEqual({ projectName: 'shop', dbtVersion: '1.11.16', targetKey: '', nodes: [], addresses: {}, testCount: 0 });
    const bare: Manifest = { metadata: {}, nodes: {} };
    expect(planBuild(bare, new Set(['model.x.y']))).toEqual({ projectName: 'unknown', dbtVersion: 'unknown', targetKey: '', nodes: [], addresses: {}, testCount: 0 });
  });
});

describe('planBuild: tests', () => {
  const m = manifest(
    [
      node('model.shop.customers'),
      node('model.shop.orders', ['model.shop.customers']),
      node('model.shop.payments'),
      node('test.shop.not_null_orders_id', ['model.shop.orders']),
      // relationships test: orders.customer_id -> customers.id
      node('test.shop.relationships_orders_customer_id', ['model.shop.customers', 'model.shop.orders']),
      // singular test reading two models (and one twice)
      node('test.shop.assert_totals_match', ['model.shop.orders', 'model.shop.payments', 'model.shop.orders']),
      node('test.shop.source_not_null_raw_orders_id', ['source.shop.raw.orders']),
    ],
    [node('unit_test.shop.orders.test_order_totals', ['model.shop.orders'])],
  );
  const all = new Set([...Object.keys(m.nodes), ...Object.keys(m.unit_tests!)]);

  it('attaches every test to every parent consumer', () => {
    const nodes = byId(planBuild(m, all).nodes);
    expect(nodes.get('model.shop.orders')!.tests).toEqual([
      'test.shop.assert_totals_match',
      'test.shop.not_null_orders_id',
      'test.shop.relationships_orders_customer_id',
      'unit_test.shop.orders.test_order_totals',
    ]);
    expect(nodes.get('model.shop.customers')!.tests).toEqual(['test.shop.relationships_orders_customer_id']);
    expect(nodes.get('model.shop.payments')!.tests).toEqual(['test.shop.assert_totals_match']);
  });

  it('attaches a test listing the same parent twice only once', () => {
    const tests = byId(planBuild(m, all).nodes).get('model.shop.orders')!.tests;
    expect(tests.filter((t) => t === 'test.shop.assert_totals_match')).toHaveLength(1);
  });

  it('counts every selected test, including a source-only test that belongs to no consumer', () => {
    const plan = planBuild(m, all);
    expect(plan.testCount).toBe(5);
    const owners = plan.nodes.filter((n) => n.tests.includes('test.shop.source_not_null_raw_orders_id'));
    expect(owners).toEqual([]);
  });

  it('attaches a test only to selected parents, and ignores unselected tests', () => {
    const plan = planBuild(m, new Set(['model.shop.customers', 'test.shop.relationships_orders_customer_id']));
    expect(plan.nodes.map((n) => n.uniqueId)).toEqual(['model.shop.customers']);
    expect(plan.nodes[0]!.tests).toEqual(['test.shop.relationships_orders_customer_id']);
    expect(plan.testCount).toBe(1);
  });

  it('finds unit tests in manifest.unit_tests', () => {
    const plan = planBuild(m, new Set(['model.shop.orders', 'unit_test.shop.orders.test_order_totals']));
    expect(plan.nodes[0]!.tests).toEqual(['unit_test.shop.orders.test_order_totals']);
    expect(plan.testCount).toBe(1);
  });
});

describe('planBuild: upstream', () => {
  it('looks through unselected intermediate nodes (A selected -> B not selected -> C selected)', () => {
    const m = manifest([node('model.p.a'), node('model.p.b', ['model.p.a']), node('model.p.c', ['model.p.b'])]);
    const nodes = byId(planBuild(m, new Set(['model.p.a', 'model.p.c'])).nodes);
    expect(nodes.get('model.p.c')!.upstream).toEqual(['model.p.a']);
    expect(nodes.get('model.p.a')!.upstream).toEqual([]);
  });

  it('stops at the nearest selected consumer', () => {
    const m = manifest([node('model.p.a'), node('model.p.b', ['model.p.a']), node('model.p.c', ['model.p.b'])]);
    const nodes = byId(planBuild(m, new Set(['model.p.a', 'model.p.b', 'model.p.c'])).nodes);
    expect(nodes.get('model.p.c')!.upstream).toEqual(['model.p.b']);
    expect(nodes.get('model.p.b')!.upstream).toEqual(['model.p.a']);
  });

  it('handles a diamond', () => {
    // a -> b, a -> c, (b, c) -> d
    const m = manifest([node('model.p.a'), node('model.p.b', ['model.p.a']), node('model.p.c', ['model.p.a']), node('model.p.d', ['model.p.c', 'model.p.b'])]);
    const all = byId(planBuild(m, new Set(['model.p.a', 'model.p.b', 'model.p.c', 'model.p.d'])).nodes);
    expect(all.get('model.p.d')!.upstream).toEqual(['model.p.b', 'model.p.c']);
    expect(all.get('model.p.b')!.upstream).toEqual(['model.p.a']);
    expect(all.get('model.p.c')!.upstream).toEqual(['model.p.a']);

    // with the middle of the diamond unselected, d depends on a once
    const ends = byId(planBuild(m, new Set(['model.p.a', 'model.p.d'])).nodes);
    expect(ends.get('model.p.d')!.upstream).toEqual(['model.p.a']);
  });

  it('ignores sources, tests and unknown ids among parents', () => {
    const m = manifest([node('seed.p.s'), node('model.p.a', ['source.shop.raw.orders', 'seed.p.s', 'model.p.ghost'])]);
    const nodes = byId(planBuild(m, new Set(['model.p.a', 'seed.p.s'])).nodes);
    expect(nodes.get('model.p.a')!.upstream).toEqual(['seed.p.s']);
  });

  it('does not hang on a cycle in a broken manifest and loses no node', () => {
    const m = manifest([
      node('model.p.x', ['model.p.z']),
      node('model.p.y', ['model.p.x']),
      node('model.p.z', ['model.p.y']),
      node('model.p.root'),
      node('model.p.after', ['model.p.root']),
    ]);
    const plan = planBuild(m, new Set(Object.keys(m.nodes)));
    expect(plan.nodes.map((n) => n.uniqueId).sort()).toEqual(Object.keys(m.nodes).sort());
    const ids = plan.nodes.map((n) => n.uniqueId);
    expect(ids.indexOf('model.p.root')).toBeLessThan(ids.indexOf('model.p.after'));
  });

  it('does not hang on a cycle among unselected intermediates', () => {
    const m = manifest([node('model.p.a'), node('model.p.b', ['model.p.a', 'model.p.c']), node('model.p.c', ['model.p.b']), node('model.p.d', ['model.p.c'])]);
    const nodes = byId(planBuild(m, new Set(['model.p.a', 'model.p.d'])).nodes);
    expect(nodes.get('model.p.d')!.upstream).toEqual(['model.p.a']);
  });
});

describe('topologicalOrder', () => {
  const planned = (uniqueId: string, upstream: string[] = []): PlannedNode => ({
    uniqueId,
    resourceType: 'model',
    name: uniqueId,
    packageName: 'p',
    selector: `p.${uniqueId}`,
    upstream,
    tests: [],
    lineage: { sources: [] },
  });

  it('puts parents before children', () => {
    const nodes = [planned('d', ['b', 'c']), planned('c', ['a']), planned('b', ['a']), planned('a')];
    const order = topologicalOrder(nodes).map((n) => n.uniqueId);
    expect(order).toEqual(['a', 'b', 'c', 'd']);
    for (const n of nodes) for (const up of n.upstream) expect(order.indexOf(up)).toBeLessThan(order.indexOf(n.uniqueId));
  });

  it('breaks ties by unique_id, whatever the input order', () => {
    const nodes = [planned('z'), planned('m', ['z']), planned('b'), planned('a', ['z']), planned('c')];
    const expected = ['b', 'c', 'z', 'a', 'm'];
    expect(topologicalOrder(nodes).map((n) => n.uniqueId)).toEqual(expected);
    expect(topologicalOrder([...nodes].reverse()).map((n) => n.uniqueId)).toEqual(expected);
    expect(topologicalOrder([nodes[2]!, nodes[4]!, nodes[0]!, nodes[3]!, nodes[1]!]).map((n) => n.uniqueId)).toEqual(expected);
  });

  it('ignores upstream ids that are not in the list', () => {
    expect(topologicalOrder([planned('b', ['outside']), planned('a', ['b'])]).map((n) => n.uniqueId)).toEqual(['b', 'a']);
  });

  it('appends the nodes of a cycle instead of losing them', () => {
    const nodes = [planned('c', ['b']), planned('b', ['c']), planned('a')];
    const order = topologicalOrder(nodes).map((n) => n.uniqueId);
    expect(order).toEqual(['a', 'b', 'c']);
  });

  it('returns the same objects and an empty list for no nodes', () => {
    const a = planned('a');
    expect(topologicalOrder([a])[0]).toBe(a);
    expect(topologicalOrder([])).toEqual([]);
  });
});
