import { describe, expect, it } from 'vitest';
import { planResume } from '../../src/build/resume.js';
import type { ResultStatus } from '../../src/contracts/status.js';
import type { Manifest, ManifestNode } from '../../src/dbt/artifacts.js';
import { exactSelector } from '../../src/dbt/selectors.js';

/** `model.shop.orders` in `dir` -> fqn shop.<dir>.orders; `unit_test.shop.orders.t` -> shop.<dir>.orders.t (as dbt does). */
function node(uniqueId: string, dependsOn: string[] = [], dir = 'marts', extra: Partial<ManifestNode> = {}): ManifestNode {
  const [resourceType, packageName, ...rest] = uniqueId.split('.');
  const name = rest[rest.length - 1]!;
  return {
    unique_id: uniqueId,
    resource_type: resourceType!,
    name,
    package_name: packageName!,
    fqn: [packageName!, dir, ...rest],
    depends_on: { nodes: dependsOn },
    ...extra,
  };
}

/** A node with the file dbt records for it: its own .sql/.csv, or the schema file of its folder for tests. */
function fileNode(uniqueId: string, dependsOn: string[] = [], dir = 'marts'): ManifestNode {
  const [resourceType, , ...rest] = uniqueId.split('.');
  const name = rest[rest.length - 1]!;
  const file: Record<string, string> = {
    model: `models/${dir}/${name}.sql`,
    seed: `seeds/${name}.csv`,
    snapshot: `snapshots/${name}.sql`,
    analysis: `analyses/${name}.sql`,
    test: `models/${dir}/_${dir}.yml`,
    unit_test: `models/${dir}/_${dir}.yml`,
  };
  return node(uniqueId, dependsOn, dir, { original_file_path: file[resourceType!] });
}

function manifest(nodes: ManifestNode[], unitTests: ManifestNode[] = []): Manifest {
  return {
    metadata: { dbt_version: '1.11.16', project_name: 'shop' },
    nodes: Object.fromEntries(nodes.map((n) => [n.unique_id, n])),
    sources: { 'source.shop.raw.orders': node('source.shop.raw.orders') },
    unit_tests: Object.fromEntries(unitTests.map((n) => [n.unique_id, n])),
  };
}

const finished = (entries: Record<string, ResultStatus>) => new Map(Object.entries(entries));
const sorted = (xs: Iterable<string>) => [...xs].sort();

/**
 * A glob as dbt reads it: Python's fnmatch (`?` any one character, `*` any run, `[...]` a class,
 * `[!...]` its complement, a `[` without its `]` itself) or, with `segment`, pathlib's glob,
 * whose wildcards never match a `/`.
 */
function globRegExp(pattern: string, segment = false): RegExp {
  if (segment && pattern.includes('**')) throw new Error(`recursive globs are not simulated: ${pattern}`);
  const one = segment ? '[^/]' : '[\\s\\S]';
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '?') re += one;
    else if (c === '*') re += `${one}*`;
    else if (c === '[') {
      let end = i + 1;
      if (pattern[end] === '!') end++;
      if (pattern[end] === ']') end++;
      while (end < pattern.length && pattern[end] !== ']') end++;
      if (end >= pattern.length) {
        re += '\\[';
        continue;
      }
      const body = pattern.slice(i + 1, end).replace(/[\\^]/g, '\\$&');
      re += `${segment ? '(?!/)' : ''}[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
      i = end;
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'u');
}
const fnmatch = (s: string, pattern: string) => globRegExp(pattern).test(s);
const hasWildcard = (s: string) => /[*?[\]]/.test(s);
const basename = (file: string) => file.slice(file.lastIndexOf('/') + 1);
/** pathlib's parents of a relative path: `models/a/x.sql` -> models/a, models. */
const parents = (file: string) => file.split('/').slice(0, -1).map((_, i, dirs) => dirs.slice(0, i + 1).join('/')).reverse();

/** dbt's is_selected_node (unversioned): the leaf name, or the fqn by PREFIX up to a wildcard, the rest globbed whole. */
function isSelectedNode(fqn: readonly string[], selector: string): boolean {
  if (fqn.length === 0) return false;
  if (fqn[fqn.length - 1] === selector) return true;
  const flat = fqn.flatMap((part) => part.split('.'));
  const parts = selector.split('.');
  if (parts.length > flat.length) return false;
  const wild = parts.findIndex(hasWildcard);
  const literal = wild === -1 ? parts : parts.slice(0, wild);
  if (!literal.every((p, i) => flat[i] === p)) return false;
  return wild === -1 || fnmatch(flat.slice(wild).join('.'), parts.slice(wild).join('.'));
}

/**
 * The nodes a selection string (no graph operators) selects, as dbt-core 1.11.16 does it
 * (graph/selector_methods.py), for the methods Watcher writes: commas intersect; `fqn` (the
 * default) matches the leaf name, or the fqn by PREFIX, with or without the package (once a part
 * has a wildcard, the rest of the fqn must match the rest of the selector whole), and covers unit
 * tests too; `path` globs under the ROOT project (so only files and folders that exist there) and
 * matches a file or anything below a folder; `file` globs the file name, or its stem, of any
 * package's node; `package` globs the package name; `resource_type` is the node's type, unit_test
 * included. Checked with `dbt ls --indirect-selection empty` on a project with a local package
 * (dbt 1.11.16, .venv).
 */
function dbtSelect(m: Manifest, selection: string): string[] {
  if (/\s/.test(selection)) throw new Error(`'${selection}' is a union: not simulated`);
  const all = [...Object.values(m.nodes), ...Object.values(m.unit_tests ?? {})];
  const rootPaths = new Set(
    all.filter((n) => n.package_name === m.metadata.project_name && n.original_file_path).flatMap((n) => [n.original_file_path!, ...parents(n.original_file_path!)]),
  );
  const matches = (n: ManifestNode, criterion: string): boolean => {
    const colon = criterion.indexOf(':');
    const method = colon === -1 ? 'fqn' : criterion.slice(0, colon);
    const value = criterion.slice(colon + 1);
    const file = n.original_file_path ?? '';
    switch (method) {
      case 'fqn':
        return isSelectedNode(n.fqn ?? [], value) || isSelectedNode((n.fqn ?? []).slice(1), value);
      case 'path': {
        const glob = globRegExp(value, true);
        return !!file && [file, ...parents(file)].some((p) => rootPaths.has(p) && glob.test(p));
      }
      case 'file': {
        const name = basename(file);
        const dot = name.lastIndexOf('.');
        return fnmatch(name, value) || fnmatch(dot > 0 ? name.slice(0, dot) : name, value);
      }
      case 'package':
        return fnmatch(n.package_name, value);
      case 'resource_type':
        return n.resource_type === value;
      default:
        throw new Error(`method ${method} is not simulated`);
    }
  };
  const criteria = selection.split(',').filter(Boolean);
  return all.filter((n) => criteria.every((c) => matches(n, c))).map((n) => n.unique_id);
}

/** What dbt selects for each selector of a resume: each must be exactly one node, these ones, in this order. */
function expectExact(m: Manifest, select: readonly string[], ids: readonly string[]) {
  expect(select.map((s) => dbtSelect(m, s))).toEqual(ids.map((id) => [id]));
}

// seed raw_customers -> stg_customers -> customers
// source raw.orders -> stg_orders -> orders -> revenue (-> analysis revenue_report), orders_snapshot
//                      stg_customers -> orders
const RAW_CUSTOMERS = 'seed.shop.raw_customers';
const STG_ORDERS = 'model.shop.stg_orders';
const STG_CUSTOMERS = 'model.shop.stg_customers';
const ORDERS = 'model.shop.orders';
const CUSTOMERS = 'model.shop.customers';
const REVENUE = 'model.shop.revenue';
const SNAPSHOT = 'snapshot.shop.orders_snapshot';
const REPORT = 'analysis.shop.revenue_report';
const T_STG_ORDERS_ID = 'test.shop.not_null_stg_orders_id';
const T_STG_ORDERS_UNIQUE = 'test.shop.unique_stg_orders_id';
const T_ORDERS_ID = 'test.shop.not_null_orders_id';
const T_CUSTOMERS_ID = 'test.shop.not_null_customers_id';
const T_REVENUE = 'test.shop.not_null_revenue_total';
const U_TOTALS = 'unit_test.shop.orders.test_order_totals';

const SHOP = manifest(
  [
    fileNode(RAW_CUSTOMERS, [], 'seeds'),
    fileNode(STG_ORDERS, ['source.shop.raw.orders'], 'staging'),
    fileNode(STG_CUSTOMERS, [RAW_CUSTOMERS], 'staging'),
    fileNode(ORDERS, [STG_ORDERS, STG_CUSTOMERS]),
    fileNode(CUSTOMERS, [STG_CUSTOMERS]),
    fileNode(REVENUE, [ORDERS]),
    fileNode(SNAPSHOT, [ORDERS], 'snapshots'),
    fileNode(T_STG_ORDERS_ID, [STG_ORDERS], 'staging'),
    fileNode(T_STG_ORDERS_UNIQUE, [STG_ORDERS], 'staging'),
    fileNode(T_ORDERS_ID, [ORDERS]),
    fileNode(T_CUSTOMERS_ID, [CUSTOMERS]),
    fileNode(T_REVENUE, [REVENUE]),
    fileNode(REPORT, [REVENUE], 'analyses'),
  ],
  [fileNode(U_TOTALS, [ORDERS])],
);
// The activity's node list: consumers first, then their tests (checkpointIndex).
const PLANNED = [
  RAW_CUSTOMERS,
  STG_ORDERS,
  STG_CUSTOMERS,
  ORDERS,
  CUSTOMERS,
  REVENUE,
  SNAPSHOT,
  T_STG_ORDERS_ID,
  T_STG_ORDERS_UNIQUE,
  T_ORDERS_ID,
  T_CUSTOMERS_ID,
  T_REVENUE,
  U_TOTALS,
];
const SELECTOR: Record<string, string> = {
  [RAW_CUSTOMERS]: 'resource_type:seed,package:shop,fqn:shop.seeds.raw_customers,path:seeds/raw_customers.csv',
  [STG_ORDERS]: 'resource_type:model,package:shop,fqn:shop.staging.stg_orders,path:models/staging/stg_orders.sql',
  [STG_CUSTOMERS]: 'resource_type:model,package:shop,fqn:shop.staging.stg_customers,path:models/staging/stg_customers.sql',
  [ORDERS]: 'resource_type:model,package:shop,fqn:shop.marts.orders,path:models/marts/orders.sql',
  [CUSTOMERS]: 'resource_type:model,package:shop,fqn:shop.marts.customers,path:models/marts/customers.sql',
  [REVENUE]: 'resource_type:model,package:shop,fqn:shop.marts.revenue,path:models/marts/revenue.sql',
  [SNAPSHOT]: 'resource_type:snapshot,package:shop,fqn:shop.snapshots.orders_snapshot,path:snapshots/orders_snapshot.sql',
  [REPORT]: 'resource_type:analysis,package:shop,fqn:shop.analyses.revenue_report,path:analyses/revenue_report.sql',
  [T_STG_ORDERS_ID]: 'resource_type:test,package:shop,fqn:shop.staging.not_null_stg_orders_id,path:models/staging/_staging.yml',
  [T_STG_ORDERS_UNIQUE]: 'resource_type:test,package:shop,fqn:shop.staging.unique_stg_orders_id,path:models/staging/_staging.yml',
  [T_ORDERS_ID]: 'resource_type:test,package:shop,fqn:shop.marts.not_null_orders_id,path:models/marts/_marts.yml',
  [T_CUSTOMERS_ID]: 'resource_type:test,package:shop,fqn:shop.marts.not_null_customers_id,path:models/marts/_marts.yml',
  [T_REVENUE]: 'resource_type:test,package:shop,fqn:shop.marts.not_null_revenue_total,path:models/marts/_marts.yml',
  [U_TOTALS]: 'resource_type:unit_test,package:shop,fqn:shop.marts.orders.test_order_totals,path:models/marts/_marts.yml',
};
const sel = (id: string) => SELECTOR[id]!;
/**
 * The exact selector of a node made by node() without a file: its type, package and fqn
 * (`model.shop.e` -> resource_type:model,package:shop,fqn:shop.marts.e).
 */
const bare = (id: string, dir = 'marts') => {
  const [resourceType, packageName, ...rest] = id.split('.');
  return `resource_type:${resourceType},package:${packageName},fqn:${[packageName, dir, ...rest].join('.')}`;
};
/** The planned nodes not in `except`, in plan order. */
const plannedBut = (...except: string[]) => PLANNED.filter((id) => !except.includes(id));
/** skippedBelow restricted to planned nodes (it also names descendants Watcher does not track, like analyses). */
const plannedSkips = (skipped: ReadonlyMap<string, string>) => Object.fromEntries([...skipped].filter(([id]) => PLANNED.includes(id)));

describe('exactSelector', () => {
  it('is the intersection of resource type, package, fqn and path, for every resource type of the root project', () => {
    expect(exactSelector(SHOP.nodes[STG_ORDERS]!, 'shop')).toBe('resource_type:model,package:shop,fqn:shop.staging.stg_orders,path:models/staging/stg_orders.sql');
    expect(exactSelector(SHOP.nodes[RAW_CUSTOMERS]!, 'shop')).toBe('resource_type:seed,package:shop,fqn:shop.seeds.raw_customers,path:seeds/raw_customers.csv');
    expect(exactSelector(SHOP.nodes[SNAPSHOT]!, 'shop')).toBe('resource_type:snapshot,package:shop,fqn:shop.snapshots.orders_snapshot,path:snapshots/orders_snapshot.sql');
    expect(exactSelector(SHOP.nodes[REPORT]!, 'shop')).toBe('resource_type:analysis,package:shop,fqn:shop.analyses.revenue_report,path:analyses/revenue_report.sql');
    // a generic test's file is the schema file that declares it
    expect(exactSelector(SHOP.nodes[T_ORDERS_ID]!, 'shop')).toBe('resource_type:test,package:shop,fqn:shop.marts.not_null_orders_id,path:models/marts/_marts.yml');
  });

  it('treats a unit test like any node: resource_type:unit_test, its package, fqn and schema file', () => {
    expect(exactSelector(SHOP.unit_tests![U_TOTALS]!, 'shop')).toBe('resource_type:unit_test,package:shop,fqn:shop.marts.orders.test_order_totals,path:models/marts/_marts.yml');
    expect(exactSelector(node(U_TOTALS, [], 'marts', { fqn: undefined }), 'shop')).toBe('resource_type:unit_test,package:shop,fqn:shop.test_order_totals');
  });

  it('has no file part for a node without a file', () => {
    expect(exactSelector(node(ORDERS), 'shop')).toBe('resource_type:model,package:shop,fqn:shop.marts.orders');
    expect(exactSelector(node(T_ORDERS_ID), 'shop')).toBe('resource_type:test,package:shop,fqn:shop.marts.not_null_orders_id');
    expect(exactSelector(node(ORDERS, [], 'marts', { original_file_path: '' }), 'shop')).toBe('resource_type:model,package:shop,fqn:shop.marts.orders');
  });

  it('gives a node of another package than the root project its file name, not its path (dbt resolves path: against the root only)', () => {
    const pkgModel = node('model.pkg.pkg_model', [], 'sub', { original_file_path: 'models/sub/pkg_model.sql' });
    expect(exactSelector(pkgModel, 'shop')).toBe('resource_type:model,package:pkg,fqn:pkg.sub.pkg_model,file:pkg_model.sql');
    const pkgTest = node('test.pkg.not_null_pkg_model_id', [], 'sub', { original_file_path: 'models/sub/_sub.yml' });
    expect(exactSelector(pkgTest, 'shop')).toBe('resource_type:test,package:pkg,fqn:pkg.sub.not_null_pkg_model_id,file:_sub.yml');
    // a file at the top of the package
    expect(exactSelector(node('seed.pkg.codes', [], 'seeds', { original_file_path: 'codes.csv' }), 'shop')).toBe('resource_type:seed,package:pkg,fqn:pkg.seeds.codes,file:codes.csv');
    // the same node, when its package is the root project
    expect(exactSelector(pkgModel, 'pkg')).toBe('resource_type:model,package:pkg,fqn:pkg.sub.pkg_model,path:models/sub/pkg_model.sql');
    // a manifest without a project name: no node is known to be of the root project
    expect(exactSelector(SHOP.nodes[ORDERS]!, '')).toBe('resource_type:model,package:shop,fqn:shop.marts.orders,file:orders.sql');
  });

  it("puts a ? (dbt's one-character glob) for each whitespace or comma of the fqn, path or file name (the CLI would split there)", () => {
    // e.g. model-paths: ["dbt models"]: the model-path itself is not part of the fqn
    const cases: Array<[string, string]> = [
      ['dbt models/marts/orders.sql', 'path:dbt?models/marts/orders.sql'],
      ['models,v2/marts/orders.sql', 'path:models?v2/marts/orders.sql'],
      ['models\t/marts/orders.sql', 'path:models?/marts/orders.sql'],
      ['models/a  b\n/orders.sql', 'path:models/a??b?/orders.sql'],
    ];
    for (const [file, path] of cases) {
      expect(exactSelector(node(ORDERS, [], 'marts', { original_file_path: file }), 'shop'), file).toBe(`resource_type:model,package:shop,fqn:shop.marts.orders,${path}`);
    }
    // folders are part of the fqn
    expect(exactSelector(node(ORDERS, [], 'my marts', { original_file_path: 'models/my marts/orders.sql' }), 'shop')).toBe(
      'resource_type:model,package:shop,fqn:shop.my?marts.orders,path:models/my?marts/orders.sql',
    );
    expect(exactSelector(node(ORDERS, [], 'a,b', {}), 'shop')).toBe('resource_type:model,package:shop,fqn:shop.a?b.orders');
    // a package's file name
    expect(exactSelector(node('model.pkg.p', [], 'my sub', { original_file_path: 'models/my sub/p q,r.sql' }), 'shop')).toBe(
      'resource_type:model,package:pkg,fqn:pkg.my?sub.p,file:p?q?r.sql',
    );
  });

  it('keeps other characters of the fqn and path as they are', () => {
    expect(exactSelector(node(ORDERS, [], 'marts-v2', { original_file_path: 'models/marts-v2/orders_2024.sql' }), 'shop')).toBe(
      'resource_type:model,package:shop,fqn:shop.marts-v2.orders,path:models/marts-v2/orders_2024.sql',
    );
    expect(exactSelector(node('model.shop.ventes', [], 'données', { original_file_path: 'models/données/ventes.sql' }), 'shop')).toBe(
      'resource_type:model,package:shop,fqn:shop.données.ventes,path:models/données/ventes.sql',
    );
  });

  it('falls back to package and name without an fqn', () => {
    expect(exactSelector(node(ORDERS, [], 'marts', { fqn: undefined }), 'shop')).toBe('resource_type:model,package:shop,fqn:shop.orders');
    expect(exactSelector(node(ORDERS, [], 'marts', { fqn: undefined, original_file_path: 'models/orders.sql' }), 'shop')).toBe(
      'resource_type:model,package:shop,fqn:shop.orders,path:models/orders.sql',
    );
  });

  it('selects exactly its own node, in dbt, for every node of the project, unit test included', () => {
    const all = [...Object.values(SHOP.nodes), ...Object.values(SHOP.unit_tests!)];
    for (const n of all) expect(dbtSelect(SHOP, exactSelector(n, 'shop')), n.unique_id).toEqual([n.unique_id]);
  });

  it('selects a model without its unit tests, though its fqn is a prefix of theirs', () => {
    expect(dbtSelect(SHOP, 'fqn:shop.marts.orders')).toEqual([ORDERS, U_TOTALS]);
    expect(dbtSelect(SHOP, exactSelector(SHOP.nodes[ORDERS]!, 'shop'))).toEqual([ORDERS]);
  });

  it('selects a model without the models of a folder of the same name', () => {
    // models/stg.sql and models/stg/items.sql: fqn shop.stg is a prefix of shop.stg.items
    const STG = 'model.shop.stg';
    const ITEMS = 'model.shop.items';
    const m = manifest([
      node(STG, [], 'x', { fqn: ['shop', 'stg'], original_file_path: 'models/stg.sql' }),
      node(ITEMS, [], 'x', { fqn: ['shop', 'stg', 'items'], original_file_path: 'models/stg/items.sql' }),
    ]);
    expect(dbtSelect(m, 'fqn:shop.stg')).toEqual([STG, ITEMS]);
    expect(dbtSelect(m, exactSelector(m.nodes[STG]!, 'shop'))).toEqual([STG]);
    expect(dbtSelect(m, exactSelector(m.nodes[ITEMS]!, 'shop'))).toEqual([ITEMS]);
  });

  it("selects exactly its own node for every node of an installed package: a model next to its unit test and a folder of its name", () => {
    // dbt 1.11.16, local package `pkg`: `fqn:pkg.sub.pkg_model` lists the model AND its unit test,
    // `fqn:pkg.stg` lists models/stg.sql AND models/stg/pkg_items.sql; `file:` tells them apart.
    const PKG_MODEL = 'model.pkg.pkg_model';
    const PKG_TEST = 'test.pkg.not_null_pkg_model_id';
    const PKG_UNIT = 'unit_test.pkg.pkg_model.test_pkg';
    const PKG_STG = 'model.pkg.stg';
    const PKG_ITEMS = 'model.pkg.pkg_items';
    const m = manifest(
      [
        fileNode(ORDERS),
        node(PKG_MODEL, [], 'sub', { original_file_path: 'models/sub/pkg_model.sql' }),
        node(PKG_TEST, [PKG_MODEL], 'sub', { original_file_path: 'models/sub/_sub.yml' }),
        node(PKG_STG, [], 'x', { fqn: ['pkg', 'stg'], original_file_path: 'models/stg.sql' }),
        node(PKG_ITEMS, [], 'x', { fqn: ['pkg', 'stg', 'pkg_items'], original_file_path: 'models/stg/pkg_items.sql' }),
      ],
      [node(PKG_UNIT, [PKG_MODEL], 'sub', { original_file_path: 'models/sub/_sub.yml' })],
    );
    expect(dbtSelect(m, 'fqn:pkg.sub.pkg_model')).toEqual([PKG_MODEL, PKG_UNIT]);
    expect(dbtSelect(m, 'fqn:pkg.stg')).toEqual([PKG_STG, PKG_ITEMS]);
    const all = [...Object.values(m.nodes), ...Object.values(m.unit_tests!)];
    for (const n of all) expect(dbtSelect(m, exactSelector(n, 'shop')), n.unique_id).toEqual([n.unique_id]);
  });

  it('selects exactly its own node for a model in a folder with a space (dbt puts folders in the fqn)', () => {
    // dbt 1.11.16, models/my marts/orders2.sql: fqn ["shop", "my marts", "orders2"]. `dbt ls
    // --select "fqn:shop.my marts.orders2"` selects NOTHING: the CLI splits a selection on
    // spaces (a union of `fqn:shop.my` and `marts.orders2`), and so does cliSelectionToYaml.
    // `fqn:shop.my?marts.orders2` and `path:models/my?marts/orders2.sql` select it.
    const n = node('model.shop.orders2', [], 'my marts', { original_file_path: 'models/my marts/orders2.sql' });
    const unit = node('unit_test.shop.orders2.t', [n.unique_id], 'my marts', { original_file_path: 'models/my marts/_my marts.yml' });
    const m = manifest([n], [unit]);
    const selector = exactSelector(n, 'shop');
    expect(selector, 'one dbt criterion per part').not.toMatch(/\s/);
    expect(selector.split(',')).toHaveLength(4);
    expect(dbtSelect(m, selector)).toEqual([n.unique_id]);
    expect(dbtSelect(m, exactSelector(unit, 'shop'))).toEqual([unit.unique_id]);
  });

  it('selects exactly its own node for a model in a folder with brackets (a glob class in dbt)', () => {
    // dbt 1.11.16, models/marts[v2]/orders3.sql: `dbt ls --select
    // 'resource_type:model,package:shop,fqn:shop.marts[v2].orders3,path:models/marts[v2]/orders3.sql'`
    // lists NOTHING: dbt reads [v2] as a one-character class in both fqn and path.
    // `...,fqn:shop.marts?v2?.orders3,path:models/marts?v2?/orders3.sql` lists model.shop.orders3.
    const n = node('model.shop.orders3', [], 'marts[v2]', { original_file_path: 'models/marts[v2]/orders3.sql' });
    expect(dbtSelect(manifest([n]), exactSelector(n, 'shop'))).toEqual([n.unique_id]);
  });
});

describe('dbtSelect (the dbt semantics these tests check against)', () => {
  it("matches fqn by prefix, as dbt does: a model's fqn also selects its unit tests", () => {
    expect(dbtSelect(SHOP, 'shop.marts.orders')).toEqual([ORDERS, U_TOTALS]);
    expect(dbtSelect(SHOP, 'fqn:orders')).toEqual([ORDERS]);
    expect(dbtSelect(SHOP, 'fqn:marts.orders')).toEqual([ORDERS, U_TOTALS]);
  });

  it('matches fqn up to its first wildcard by prefix, and the rest whole (fnmatch)', () => {
    // dbt 1.11.16: `fqn:pkg.s?b.pkg_model` lists the model, `fqn:pkg.s?b` nothing
    expect(dbtSelect(SHOP, 'fqn:shop.mar?s.orders')).toEqual([ORDERS]);
    expect(dbtSelect(SHOP, 'fqn:shop.mar?s')).toEqual([]);
    expect(dbtSelect(SHOP, 'fqn:shop.marts.orders?test_order_totals')).toEqual([U_TOTALS]);
    expect(dbtSelect(SHOP, 'fqn:shop.mar[xt]s.orders')).toEqual([ORDERS]);
  });

  it('matches path against files of the root project, files and folders', () => {
    expect(dbtSelect(SHOP, 'path:models/staging')).toEqual([STG_ORDERS, STG_CUSTOMERS, T_STG_ORDERS_ID, T_STG_ORDERS_UNIQUE]);
    expect(dbtSelect(SHOP, 'path:models/stag')).toEqual([]);
    expect(dbtSelect(SHOP, 'path:models/staging/stg_orders.sql')).toEqual([STG_ORDERS]);
  });

  it('globs path one name at a time: ? is one character, never a /', () => {
    expect(dbtSelect(SHOP, 'path:models/stag?ng')).toEqual([STG_ORDERS, STG_CUSTOMERS, T_STG_ORDERS_ID, T_STG_ORDERS_UNIQUE]);
    expect(dbtSelect(SHOP, 'path:models/staging/stg_orders.sq?')).toEqual([STG_ORDERS]);
    expect(dbtSelect(SHOP, 'path:models?staging')).toEqual([]);
  });

  it("never matches a package's node by path (its file is relative to the package, not the root project)", () => {
    const m = manifest([fileNode(ORDERS), node('model.pkg.pkg_model', [], 'sub', { original_file_path: 'models/sub/pkg_model.sql' })]);
    expect(dbtSelect(m, 'path:models/sub/pkg_model.sql,fqn:pkg.sub.pkg_model')).toEqual([]);
    expect(dbtSelect(m, 'fqn:pkg.sub.pkg_model')).toEqual(['model.pkg.pkg_model']);
  });

  it("matches file against the file name, or its stem, of any package's node", () => {
    const m = manifest([fileNode(ORDERS), node('model.pkg.pkg_model', [], 'sub', { original_file_path: 'models/sub/pkg_model.sql' })]);
    expect(dbtSelect(m, 'file:pkg_model.sql')).toEqual(['model.pkg.pkg_model']);
    expect(dbtSelect(m, 'file:pkg_model')).toEqual(['model.pkg.pkg_model']);
    expect(dbtSelect(m, 'file:orders.sql')).toEqual([ORDERS]);
    expect(dbtSelect(m, 'file:sub')).toEqual([]);
    expect(dbtSelect(SHOP, 'file:_marts.yml')).toEqual([T_ORDERS_ID, T_CUSTOMERS_ID, T_REVENUE, U_TOTALS]);
    expect(dbtSelect(SHOP, 'file:raw_custo?ers.csv')).toEqual([RAW_CUSTOMERS]);
  });

  it('matches package and resource_type, unit tests included', () => {
    const m = manifest([fileNode(ORDERS), node('model.pkg.pkg_model')], [node('unit_test.pkg.pkg_model.t')]);
    expect(dbtSelect(m, 'package:pkg')).toEqual(['model.pkg.pkg_model', 'unit_test.pkg.pkg_model.t']);
    expect(dbtSelect(m, 'package:shop')).toEqual([ORDERS]);
    expect(dbtSelect(m, 'package:pk')).toEqual([]);
    expect(dbtSelect(SHOP, 'resource_type:unit_test')).toEqual([U_TOTALS]);
    expect(dbtSelect(SHOP, 'resource_type:seed')).toEqual([RAW_CUSTOMERS]);
    expect(dbtSelect(SHOP, 'resource_type:model,path:models/marts')).toEqual([ORDERS, CUSTOMERS, REVENUE]);
  });
});

describe('planResume: nothing failed', () => {
  it('selects every planned node, consumers and tests, in plan order, when nothing finished', () => {
    const r = planResume(SHOP, new Map(), PLANNED);
    expect(r.skippedBelow.size).toBe(0);
    expect(r.select).toEqual(PLANNED.map(sel));
    expectExact(SHOP, r.select, PLANNED);
  });

  it('leaves out each finished successful node, and selects with no graph operator', () => {
    const done = { [RAW_CUSTOMERS]: 'success', [STG_ORDERS]: 'success', [T_STG_ORDERS_ID]: 'pass', [T_STG_ORDERS_UNIQUE]: 'warn', [STG_CUSTOMERS]: 'success' } as const;
    const r = planResume(SHOP, finished(done), PLANNED);
    const left = plannedBut(...Object.keys(done));
    expect(r.select).toEqual(left.map(sel));
    expect(r.select.some((s) => /[+@]/.test(s))).toBe(false);
    expect(r.skippedBelow.size).toBe(0);
    expectExact(SHOP, r.select, left);
  });

  it('leaves out a finished unit test, and its unfinished model selects only itself', () => {
    const r = planResume(SHOP, finished({ [U_TOTALS]: 'pass' }), PLANNED);
    expect(r.select).toEqual(plannedBut(U_TOTALS).map(sel));
    // `fqn:shop.marts.orders` alone would run the unit test again (fqn matches by prefix)
    expect(r.select.flatMap((s) => dbtSelect(SHOP, s))).not.toContain(U_TOTALS);
  });

  it('selects the unfinished tests of a finished model itself (indirect selection is off)', () => {
    const r = planResume(SHOP, finished({ [STG_ORDERS]: 'success', [T_STG_ORDERS_ID]: 'pass' }), PLANNED);
    expect(r.select).toContain(sel(T_STG_ORDERS_UNIQUE));
    expect(r.select).not.toContain(sel(STG_ORDERS));
    expect(r.select).toEqual(plannedBut(STG_ORDERS, T_STG_ORDERS_ID).map(sel));
  });
});

describe('planResume: a model that did not pass', () => {
  const upstreamDone = { [RAW_CUSTOMERS]: 'success', [STG_ORDERS]: 'success', [STG_CUSTOMERS]: 'success', [T_STG_ORDERS_ID]: 'pass', [T_STG_ORDERS_UNIQUE]: 'pass', [U_TOTALS]: 'pass' } as const;

  for (const status of ['error', 'skipped', 'not_run', 'canceled'] as const) {
    it(`selects nothing below a model that ended ${status}`, () => {
      const r = planResume(SHOP, finished({ ...upstreamDone, [ORDERS]: status }), PLANNED);
      expect(plannedSkips(r.skippedBelow)).toEqual({
        [REVENUE]: ORDERS,
        [SNAPSHOT]: ORDERS,
        [T_ORDERS_ID]: ORDERS,
        [T_REVENUE]: ORDERS,
      });
      // the failed model itself has a result: it is not "skipped below" anything
      expect(r.skippedBelow.has(ORDERS)).toBe(false);
      expect(r.select).toEqual([sel(CUSTOMERS), sel(T_CUSTOMERS_ID)]);
      expectExact(SHOP, r.select, [CUSTOMERS, T_CUSTOMERS_ID]);
    });
  }

  it('leaves finished descendants out of skippedBelow', () => {
    // unit tests run before their model: this one passed before orders failed
    const r = planResume(SHOP, finished({ ...upstreamDone, [ORDERS]: 'error' }), PLANNED);
    expect(r.skippedBelow.has(U_TOTALS)).toBe(false);
    expect(r.skippedBelow.has(STG_ORDERS)).toBe(false);
  });

  it('skips everything below a failed seed, models and tests alike', () => {
    const r = planResume(SHOP, finished({ [RAW_CUSTOMERS]: 'error' }), PLANNED);
    const below = [STG_CUSTOMERS, ORDERS, CUSTOMERS, REVENUE, SNAPSHOT, T_ORDERS_ID, U_TOTALS, T_CUSTOMERS_ID, T_REVENUE];
    expect(sorted(Object.keys(plannedSkips(r.skippedBelow)))).toEqual(sorted(below));
    for (const because of r.skippedBelow.values()) expect(because).toBe(RAW_CUSTOMERS);
    // stg_orders does not depend on the seed: it and its tests still run
    expect(r.select).toEqual([sel(STG_ORDERS), sel(T_STG_ORDERS_ID), sel(T_STG_ORDERS_UNIQUE)]);
  });

  it('maps a node below two failures to the first one', () => {
    const r = planResume(SHOP, finished({ ...upstreamDone, [ORDERS]: 'error', [REVENUE]: 'skipped' }), PLANNED);
    expect(r.skippedBelow.get(T_REVENUE)).toBe(ORDERS);
    expect(r.skippedBelow.has(REVENUE)).toBe(false);
    expect(r.select).not.toContain(sel(REVENUE));
    expect(r.select).not.toContain(sel(T_REVENUE));
  });
});

describe('planResume: a failed data test', () => {
  it('skips the models and snapshots built on its model, and everything below them', () => {
    const r = planResume(SHOP, finished({ [STG_ORDERS]: 'success', [T_STG_ORDERS_UNIQUE]: 'pass', [T_STG_ORDERS_ID]: 'fail' }), PLANNED);
    expect(plannedSkips(r.skippedBelow)).toEqual({
      [ORDERS]: T_STG_ORDERS_ID,
      [REVENUE]: T_STG_ORDERS_ID,
      [SNAPSHOT]: T_STG_ORDERS_ID,
      [T_ORDERS_ID]: T_STG_ORDERS_ID,
      [T_REVENUE]: T_STG_ORDERS_ID,
      [U_TOTALS]: T_STG_ORDERS_ID,
    });
    // customers does not read stg_orders
    expect(r.select).toEqual([sel(RAW_CUSTOMERS), sel(STG_CUSTOMERS), sel(CUSTOMERS), sel(T_CUSTOMERS_ID)]);
    expectExact(SHOP, r.select, [RAW_CUSTOMERS, STG_CUSTOMERS, CUSTOMERS, T_CUSTOMERS_ID]);
  });

  it('neither skips the tested model nor its other tests', () => {
    // dbt's test edges lead from a test to the models, seeds and snapshots built on what it
    // tests, never to another test (Linker._get_test_edges_2 keeps only executable non-test
    // successors): unique_stg_orders_id still runs after not_null_stg_orders_id failed.
    const r = planResume(SHOP, finished({ [STG_ORDERS]: 'success', [T_STG_ORDERS_ID]: 'fail' }), PLANNED);
    expect(r.skippedBelow.has(STG_ORDERS)).toBe(false);
    expect(r.skippedBelow.has(T_STG_ORDERS_UNIQUE)).toBe(false);
    expect(r.select).toEqual([sel(RAW_CUSTOMERS), sel(STG_CUSTOMERS), sel(CUSTOMERS), sel(T_STG_ORDERS_UNIQUE), sel(T_CUSTOMERS_ID)]);
  });

  it('also works when the tested model is still unfinished (its own result is not required)', () => {
    const r = planResume(SHOP, finished({ [T_STG_ORDERS_ID]: 'error' }), PLANNED);
    expect(r.skippedBelow.has(STG_ORDERS)).toBe(false);
    expect(r.select).toContain(sel(STG_ORDERS));
    expect(r.skippedBelow.get(ORDERS)).toBe(T_STG_ORDERS_ID);
    expect(r.select).not.toContain(sel(ORDERS));
  });

  it('skips the model and snapshot built on a tested mart, and what is below them', () => {
    const r = planResume(
      SHOP,
      finished({ [RAW_CUSTOMERS]: 'success', [STG_ORDERS]: 'success', [STG_CUSTOMERS]: 'success', [ORDERS]: 'success', [U_TOTALS]: 'pass', [T_ORDERS_ID]: 'fail' }),
      PLANNED,
    );
    expect(plannedSkips(r.skippedBelow)).toEqual({ [REVENUE]: T_ORDERS_ID, [SNAPSHOT]: T_ORDERS_ID, [T_REVENUE]: T_ORDERS_ID });
    expect(r.select).toEqual([sel(CUSTOMERS), sel(T_STG_ORDERS_ID), sel(T_STG_ORDERS_UNIQUE), sel(T_CUSTOMERS_ID)]);
  });

  it('skips a snapshot below a tested seed', () => {
    const m = manifest([node('seed.shop.s'), node('snapshot.shop.snap', ['seed.shop.s']), node('test.shop.t', ['seed.shop.s'])]);
    const r = planResume(m, finished({ 'seed.shop.s': 'success', 'test.shop.t': 'fail' }), ['seed.shop.s', 'snapshot.shop.snap', 'test.shop.t']);
    expect(Object.fromEntries(r.skippedBelow)).toEqual({ 'snapshot.shop.snap': 'test.shop.t' });
    expect(r.select).toEqual([]);
  });

  it('skips nothing for a failed test whose parent is unknown', () => {
    const m = manifest([node('test.shop.t', ['model.shop.gone']), node('model.shop.other')]);
    const r = planResume(m, finished({ 'test.shop.t': 'fail' }), ['model.shop.other', 'test.shop.t']);
    expect(r.skippedBelow.size).toBe(0);
    expect(r.select).toEqual([bare('model.shop.other')]);
  });

  it('skips nothing below a test that passed or warned', () => {
    for (const status of ['pass', 'warn'] as const) {
      const r = planResume(SHOP, finished({ [STG_ORDERS]: 'success', [T_STG_ORDERS_ID]: status }), PLANNED);
      expect(r.skippedBelow.size, status).toBe(0);
      expect(r.select, status).toEqual(plannedBut(STG_ORDERS, T_STG_ORDERS_ID).map(sel));
    }
  });
});

describe('planResume: select', () => {
  it('follows the order of the planned ids', () => {
    const r = planResume(SHOP, finished({ [STG_ORDERS]: 'success' }), [...PLANNED].reverse());
    expect(r.select).toEqual(plannedBut(STG_ORDERS).reverse().map(sel));
  });

  it('lists only planned nodes', () => {
    const r = planResume(SHOP, finished({ [STG_ORDERS]: 'success' }), [STG_ORDERS, ORDERS, T_ORDERS_ID]);
    expect(r.select).toEqual([sel(ORDERS), sel(T_ORDERS_ID)]);
  });

  it('selects a node planned twice once', () => {
    const r = planResume(SHOP, new Map(), [ORDERS, T_ORDERS_ID, ORDERS, T_ORDERS_ID, CUSTOMERS]);
    expect(r.select).toEqual([sel(ORDERS), sel(T_ORDERS_ID), sel(CUSTOMERS)]);
  });

  it('is empty when every planned node finished', () => {
    const all = Object.fromEntries(PLANNED.map((id) => [id, id.includes('test') ? 'pass' : 'success'])) as Record<string, ResultStatus>;
    const r = planResume(SHOP, finished(all), PLANNED);
    expect(r.select).toEqual([]);
    expect(r.skippedBelow.size).toBe(0);
  });

  it('is empty when what has not finished is all below a failure', () => {
    const done = Object.fromEntries(plannedBut(REVENUE, T_REVENUE, SNAPSHOT, T_ORDERS_ID).map((id) => [id, id.includes('test') ? 'pass' : 'success'])) as Record<string, ResultStatus>;
    const r = planResume(SHOP, finished({ ...done, [ORDERS]: 'error' }), PLANNED);
    expect(r.select).toEqual([]);
    expect(sorted(Object.keys(plannedSkips(r.skippedBelow)))).toEqual(sorted([REVENUE, T_REVENUE, SNAPSHOT, T_ORDERS_ID]));
  });

  it('accepts any iterable of planned ids (a Set, a generator)', () => {
    const fromSet = planResume(SHOP, finished({ [STG_ORDERS]: 'success' }), new Set(PLANNED));
    function* gen() {
      yield* PLANNED;
    }
    const fromGen = planResume(SHOP, finished({ [STG_ORDERS]: 'success' }), gen());
    expect(fromSet.select).toEqual(plannedBut(STG_ORDERS).map(sel));
    expect(fromGen.select).toEqual(plannedBut(STG_ORDERS).map(sel));
  });

  it('takes the root project from the manifest: without a project name, every node by its file name, not its path', () => {
    const m: Manifest = { ...SHOP, metadata: { dbt_version: '1.11.16' } };
    const r = planResume(m, new Map(), [STG_ORDERS, T_STG_ORDERS_ID]);
    expect(r.select).toEqual([
      'resource_type:model,package:shop,fqn:shop.staging.stg_orders,file:stg_orders.sql',
      'resource_type:test,package:shop,fqn:shop.staging.not_null_stg_orders_id,file:_staging.yml',
    ]);
    expectExact(m, r.select, [STG_ORDERS, T_STG_ORDERS_ID]);
  });
});

// Nodes without a file: their selectors are their type, package and fqn.
describe('planResume: graph shapes and bad input', () => {
  const A = 'model.shop.a';
  const B = 'model.shop.b';
  const C = 'model.shop.c';
  const D = 'model.shop.d';
  const E = 'model.shop.e';
  const TA1 = 'test.shop.t_a_1';
  const TA2 = 'test.shop.t_a_2';
  const TD = 'test.shop.t_d';
  // a -> b, c -> d (a diamond); e on its own
  const diamond = manifest([node(A), node(B, [A]), node(C, [A]), node(D, [B, C]), node(E), node(TA1, [A]), node(TA2, [A]), node(TD, [D])]);
  const planned = [A, B, C, D, E, TA1, TA2, TD];

  it('skips the bottom of a diamond once', () => {
    const r = planResume(diamond, finished({ [A]: 'error' }), planned);
    expect(sorted(r.skippedBelow.keys())).toEqual(sorted([B, C, D, TA1, TA2, TD]));
    expect(r.select).toEqual([bare(E)]);
  });

  it('blames everything below two failed tests on one model on the first of them', () => {
    const r = planResume(diamond, finished({ [A]: 'success', [TA1]: 'fail', [TA2]: 'error' }), planned);
    expect(Object.fromEntries(r.skippedBelow)).toEqual({ [B]: TA1, [C]: TA1, [D]: TA1, [TD]: TA1 });
    expect(r.select).toEqual([bare(E)]);
  });

  it('ignores finished and planned ids missing from the manifest', () => {
    const r = planResume(diamond, finished({ 'model.shop.gone': 'error', 'test.shop.gone': 'fail', 'model.shop.ok_gone': 'success', [A]: 'success' }), [...planned, 'test.shop.gone_too']);
    expect(r.skippedBelow.size).toBe(0);
    expect(r.select).toEqual([B, C, D, E, TA1, TA2, TD].map((id) => bare(id)));
  });

  it('ignores dependencies on nodes that are not in the manifest (sources)', () => {
    const r = planResume(SHOP, finished({ 'source.shop.raw.orders': 'error' }), PLANNED);
    expect(r.skippedBelow.size).toBe(0);
    expect(r.select).toEqual(PLANNED.map(sel));
  });

  it('works without unit_tests in the manifest', () => {
    const m: Manifest = { metadata: {}, nodes: { [A]: node(A), [B]: node(B, [A]), [E]: node(E) } };
    const r = planResume(m, finished({ [A]: 'error' }), [A, B, E]);
    expect(Object.fromEntries(r.skippedBelow)).toEqual({ [B]: A });
    expect(r.select).toEqual([bare(E)]);
  });

  it('works for nodes without depends_on', () => {
    const m: Manifest = { metadata: {}, nodes: { [A]: { ...node(A), depends_on: undefined }, [TA1]: { ...node(TA1), depends_on: {} }, [E]: node(E) } };
    const r = planResume(m, finished({ [A]: 'error', [TA1]: 'fail' }), [A, TA1, E]);
    expect(r.skippedBelow.size).toBe(0);
    expect(r.select).toEqual([bare(E)]);
  });

  it('terminates on a cycle (a broken manifest)', () => {
    const m = manifest([node(A, [C]), node(B, [A]), node(C, [B]), node(TA1, [A])]);
    const r = planResume(m, finished({ [A]: 'error' }), [A, B, C, TA1]);
    expect(Object.fromEntries(r.skippedBelow)).toEqual({ [B]: A, [C]: A, [TA1]: A });
    expect(r.select).toEqual([]);
  });

  it('terminates on a cycle below a failed test, and on a self-loop', () => {
    const m = manifest([node(A, [A]), node(B, [A, C]), node(C, [B]), node(TA1, [A])]);
    const r = planResume(m, finished({ [TA1]: 'fail' }), [A, B, C, TA1]);
    expect(r.skippedBelow.get(B)).toBe(TA1);
    expect(r.skippedBelow.get(C)).toBe(TA1);
    expect(r.select).not.toContain(bare(TA1));
  });

  it('does not modify its inputs', () => {
    const before = JSON.stringify(SHOP);
    const done = finished({ [ORDERS]: 'error' });
    const planned = [...PLANNED];
    planResume(SHOP, done, planned);
    expect(JSON.stringify(SHOP)).toBe(before);
    expect(Object.fromEntries(done)).toEqual({ [ORDERS]: 'error' });
    expect(planned).toEqual(PLANNED);
  });
});

// dbt semantics the resume must reproduce ("what dbt itself would have skipped below a failure").
// Checked against dbt-core 1.11.16 (.venv): task/build.py, compilation.py, graph/selector_methods.py.
describe('planResume: what dbt itself would have skipped', () => {
  it('skips the model of a failed unit test (dbt build skips a model whose unit test failed)', () => {
    // dbt runs a model's unit tests in the model's own job, first; a failed one marks the model
    // skipped (BuildTask.call_model_and_unit_tests_runner). A worker dying between the two
    // leaves exactly this checkpoint.
    const r = planResume(SHOP, finished({ [RAW_CUSTOMERS]: 'success', [STG_ORDERS]: 'success', [STG_CUSTOMERS]: 'success', [U_TOTALS]: 'fail' }), PLANNED);
    expect(plannedSkips(r.skippedBelow)).toEqual({ [ORDERS]: U_TOTALS, [REVENUE]: U_TOTALS, [SNAPSHOT]: U_TOTALS, [T_ORDERS_ID]: U_TOTALS, [T_REVENUE]: U_TOTALS });
    expect(r.select).toEqual([sel(CUSTOMERS), sel(T_STG_ORDERS_ID), sel(T_STG_ORDERS_UNIQUE), sel(T_CUSTOMERS_ID)]);
  });

  it('skips the model of a unit test that errored too', () => {
    const r = planResume(SHOP, finished({ [U_TOTALS]: 'error' }), PLANNED);
    expect(r.skippedBelow.get(ORDERS)).toBe(U_TOTALS);
    expect(r.select).not.toContain(sel(ORDERS));
  });

  it('propagates nothing from a test that was itself skipped or not run', () => {
    // Such a test is below a failure of its own, which the checkpoint carries.
    for (const status of ['skipped', 'not_run', 'canceled'] as const) {
      const unit = planResume(SHOP, finished({ [U_TOTALS]: status }), PLANNED);
      expect(unit.skippedBelow.size, `unit test ${status}`).toBe(0);
      expect(unit.select, `unit test ${status}`).toEqual(plannedBut(U_TOTALS).map(sel));
      const data = planResume(SHOP, finished({ [STG_ORDERS]: 'success', [T_STG_ORDERS_ID]: status }), PLANNED);
      expect(data.skippedBelow.size, `data test ${status}`).toBe(0);
      expect(data.select, `data test ${status}`).toEqual(plannedBut(STG_ORDERS, T_STG_ORDERS_ID).map(sel));
    }
  });

  it('skips below a failed multi-parent test only what depends on all its parents', () => {
    // dbt adds an edge test -> node only when every node the test depends on is an ancestor of
    // that node (Linker.add_test_edges): a failed relationships test between orders and
    // customers skips what reads both, not what reads customers alone.
    const REL = 'test.shop.relationships_orders_customer_id';
    const CUSTOMER_ORDERS = 'model.shop.customer_orders';
    const CUSTOMER_STATS = 'model.shop.customer_stats';
    const m = manifest([
      node(ORDERS),
      node(CUSTOMERS),
      node(REL, [ORDERS, CUSTOMERS]),
      node(CUSTOMER_ORDERS, [ORDERS, CUSTOMERS]),
      node(CUSTOMER_STATS, [CUSTOMERS]),
      node(REVENUE, [ORDERS]),
    ]);
    const r = planResume(m, finished({ [ORDERS]: 'success', [CUSTOMERS]: 'success', [REL]: 'fail' }), [ORDERS, CUSTOMERS, REL, CUSTOMER_ORDERS, CUSTOMER_STATS, REVENUE]);
    expect(Object.fromEntries(r.skippedBelow)).toEqual({ [CUSTOMER_ORDERS]: REL });
    expect(r.select).toEqual([bare(CUSTOMER_STATS), bare(REVENUE)]);
    expectExact(m, r.select, [CUSTOMER_STATS, REVENUE]);
  });

  it('never skips the parents of a failed multi-parent test, even when one is below the other', () => {
    // orders reads customers: customers' descendants include orders, but orders is a parent
    const REL = 'test.shop.relationships_orders_customer_id';
    const m = manifest([node(CUSTOMERS), node(ORDERS, [CUSTOMERS]), node(REL, [ORDERS, CUSTOMERS]), node(REVENUE, [ORDERS])]);
    const r = planResume(m, finished({ [CUSTOMERS]: 'success', [REL]: 'fail' }), [CUSTOMERS, ORDERS, REL, REVENUE]);
    expect(Object.fromEntries(r.skippedBelow)).toEqual({ [REVENUE]: REL });
    expect(r.select).toEqual([bare(ORDERS)]);
  });

  it('holds back no test or unit test of the failed test parents (test edges lead only to models, seeds and snapshots)', () => {
    // Checked with dbt's own Linker on examples/shop: a failed test on dim_customers has no
    // test, relationships test or unit test of dim_customers among its graph descendants.
    const REL = 'test.shop.relationships_orders_customer_id';
    const REL_2 = 'test.shop.relationships_orders_customer_email';
    const U_CUSTOMERS = 'unit_test.shop.customers.test_customer_names';
    const m = manifest(
      [node(ORDERS), node(CUSTOMERS), node(T_CUSTOMERS_ID, [CUSTOMERS]), node(REL, [ORDERS, CUSTOMERS]), node(REL_2, [ORDERS, CUSTOMERS])],
      [node(U_CUSTOMERS, [CUSTOMERS])],
    );
    const planned = [ORDERS, CUSTOMERS, T_CUSTOMERS_ID, REL, REL_2, U_CUSTOMERS];
    const single = planResume(m, finished({ [CUSTOMERS]: 'success', [T_CUSTOMERS_ID]: 'fail' }), planned);
    expect(Object.fromEntries(single.skippedBelow)).toEqual({});
    expect(single.select).toEqual([ORDERS, REL, REL_2, U_CUSTOMERS].map((id) => bare(id)));
    const multi = planResume(m, finished({ [ORDERS]: 'success', [CUSTOMERS]: 'success', [REL]: 'fail' }), planned);
    expect(Object.fromEntries(multi.skippedBelow)).toEqual({});
    expect(multi.select).toEqual([T_CUSTOMERS_ID, REL_2, U_CUSTOMERS].map((id) => bare(id)));
  });
});

// Each selector of a resume must select exactly its own node in dbt: indirect selection is off,
// so a selector that matches more re-runs finished nodes, or runs nodes below a failure.
describe('planResume: every selector selects exactly its node in dbt', () => {
  it('for a model whose fqn is a prefix of a finished model in a folder of the same name', () => {
    // dbt's fqn method matches a selector as a PREFIX of the fqn (selector_methods.is_selected_node):
    // `dbt ls --select fqn:shop.stg` also lists models/stg/items.sql (checked with dbt 1.11.16).
    const STG = 'model.shop.stg';
    const ITEMS = 'model.shop.items';
    const m = manifest([
      node(STG, [], 'x', { fqn: ['shop', 'stg'], original_file_path: 'models/stg.sql' }),
      node(ITEMS, [], 'x', { fqn: ['shop', 'stg', 'items'], original_file_path: 'models/stg/items.sql' }),
    ]);
    const r = planResume(m, finished({ [ITEMS]: 'success' }), [STG, ITEMS]);
    expect(r.select).toEqual(['resource_type:model,package:shop,fqn:shop.stg,path:models/stg.sql']);
    expectExact(m, r.select, [STG]);
  });

  it('for a model whose unit test finished', () => {
    const r = planResume(SHOP, finished({ [RAW_CUSTOMERS]: 'success', [STG_ORDERS]: 'success', [STG_CUSTOMERS]: 'success', [U_TOTALS]: 'pass' }), PLANNED);
    const left = plannedBut(RAW_CUSTOMERS, STG_ORDERS, STG_CUSTOMERS, U_TOTALS);
    expect(r.select).toEqual(left.map(sel));
    expectExact(SHOP, r.select, left);
  });

  it('for a node of an installed package (its file path is relative to the package)', () => {
    // dbt resolves `path:` by globbing under the ROOT project (PathSelectorMethod), so
    // `path:models/sub/pkg_model.sql,...` selects nothing for dbt_packages/pkg/models/sub/pkg_model.sql
    // (checked with a local package and dbt 1.11.16).
    const PKG_MODEL = 'model.pkg.pkg_model';
    const PKG_TEST = 'test.pkg.not_null_pkg_model_id';
    const m = manifest([
      fileNode(ORDERS),
      node(PKG_MODEL, [], 'sub', { original_file_path: 'models/sub/pkg_model.sql' }),
      node(PKG_TEST, [PKG_MODEL], 'sub', { original_file_path: 'models/sub/_sub.yml' }),
    ]);
    const r = planResume(m, finished({ [ORDERS]: 'success' }), [ORDERS, PKG_MODEL, PKG_TEST]);
    expect(r.select).toEqual([
      'resource_type:model,package:pkg,fqn:pkg.sub.pkg_model,file:pkg_model.sql',
      'resource_type:test,package:pkg,fqn:pkg.sub.not_null_pkg_model_id,file:_sub.yml',
    ]);
    expectExact(m, r.select, [PKG_MODEL, PKG_TEST]);
  });

  it("for a package's model whose unit test, or a model in a folder of its name, finished", () => {
    // dbt 1.11.16, local package `pkg`: `dbt ls --indirect-selection empty --select
    // fqn:pkg.sub.pkg_model` lists model.pkg.pkg_model AND unit_test.pkg.pkg_model.test_pkg;
    // `--select fqn:pkg.stg` lists model.pkg.stg AND model.pkg.pkg_items (models/stg/pkg_items.sql).
    // The resume would run those finished nodes again.
    const PKG_MODEL = 'model.pkg.pkg_model';
    const PKG_UNIT = 'unit_test.pkg.pkg_model.test_pkg';
    const PKG_STG = 'model.pkg.stg';
    const PKG_ITEMS = 'model.pkg.pkg_items';
    const m = manifest(
      [
        fileNode(ORDERS),
        node(PKG_MODEL, [], 'sub', { original_file_path: 'models/sub/pkg_model.sql' }),
        node(PKG_STG, [], 'x', { fqn: ['pkg', 'stg'], original_file_path: 'models/stg.sql' }),
        node(PKG_ITEMS, [], 'x', { fqn: ['pkg', 'stg', 'pkg_items'], original_file_path: 'models/stg/pkg_items.sql' }),
      ],
      [node(PKG_UNIT, [PKG_MODEL], 'sub', { original_file_path: 'models/sub/_sub.yml' })],
    );
    const r = planResume(m, finished({ [PKG_UNIT]: 'pass', [PKG_ITEMS]: 'success' }), [ORDERS, PKG_MODEL, PKG_STG, PKG_ITEMS, PKG_UNIT]);
    expect(r.select).toEqual([
      sel(ORDERS),
      'resource_type:model,package:pkg,fqn:pkg.sub.pkg_model,file:pkg_model.sql',
      'resource_type:model,package:pkg,fqn:pkg.stg,file:stg.sql',
    ]);
    expectExact(m, r.select, [ORDERS, PKG_MODEL, PKG_STG]);
  });
});
