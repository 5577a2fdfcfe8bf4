import { describe, expect, it } from 'vitest';
import { planBuild } from '../../src/build/plan.js';
import { nodeInputOf, parseNodeInput, type NodeInputRaw } from '../../src/contracts/node-input.js';
import { InvalidInputError } from '../../src/contracts/validation.js';
import type { ManifestNode } from '../../src/dbt/artifacts.js';

function validRaw(): NodeInputRaw {
  return {
    buildId: 'nightly-1',
    node: {
      uniqueId: 'model.shop.orders',
      resourceType: 'model',
      name: 'orders',
      packageName: 'shop',
      selector: 'resource_type:model,package:shop,fqn:shop.marts.orders,path:models/marts/orders.sql',
      materialized: 'table',
      relation: 'shop.shop.orders',
      upstream: ['model.shop.stg_orders', 'seed.shop.raw_orders'],
      tests: ['test.shop.not_null_orders_id.abc123', 'unit_test.shop.orders.test_totals'],
    },
    rerun: { projectDir: '/srv/dbt/shop', target: 'dev', vars: { schema: 'x' }, threads: 2 },
    waitTimeoutSeconds: 600,
  };
}

function problemsOf(raw: unknown): string {
  try {
    parseNodeInput(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).what).toBe('dbtNode');
    return (err as InvalidInputError).problems;
  }
  throw new Error('expected the input to be refused');
}

describe('parseNodeInput: valid input', () => {
  it('parses a complete input and fills the defaults', () => {
    const input = parseNodeInput(validRaw());
    expect(input.node.uniqueId).toBe('model.shop.orders');
    expect(input.node.upstream).toEqual(['model.shop.stg_orders', 'seed.shop.raw_orders']);
    expect(input.rerun).toEqual({ projectDir: '/srv/dbt/shop', target: 'dev', vars: { schema: 'x' }, threads: 2, fullRefresh: false });
    expect(input.upstreamTimeoutSeconds).toBe(24 * 3600);
    expect(input.waitTimeoutSeconds).toBe(600);
  });

  it("takes the build's dbt flags inline, or the node group to ask for them, and exactly one of the two", () => {
    const { rerun, ...withoutFlags } = validRaw();
    expect(parseNodeInput({ ...withoutFlags, rerunFlagsFrom: 'watcher/nightly-1/group-1' }).rerunFlagsFrom).toBe('watcher/nightly-1/group-1');
    expect(problemsOf(withoutFlags)).toMatch(/rerun: needs exactly one of rerun .* and rerunFlagsFrom/);
    expect(problemsOf({ ...withoutFlags, rerun, rerunFlagsFrom: 'watcher/nightly-1/group-1' })).toMatch(/rerun: needs exactly one of/);
  });

  it("carries the build's execution key and the node's own timeliness settings, for its timer", () => {
    const raw = { ...validRaw(), buildKey: 'build:watcher/nightly-1:run-1' };
    raw.node = { ...raw.node, timeliness: { number: 30, datepart: 'minute' }, muteTimeliness: true };
    const input = parseNodeInput(raw);
    expect(input.buildKey).toBe('build:watcher/nightly-1:run-1');
    expect(input.node).toMatchObject({ timeliness: { number: 30, datepart: 'minute' }, muteTimeliness: true });
    raw.node = { ...raw.node, timeliness: { number: 30, datepart: 'second' as 'minute' } };
    expect(problemsOf(raw)).toMatch(/node\.timeliness\.datepart/);
  });

  it('accepts seeds, snapshots and versioned models, with optional fields left out', () => {
    for (const [uniqueId, resourceType] of [
      ['seed.shop.raw_orders', 'seed'],
      ['snapshot.shop.orders_snapshot', 'snapshot'],
      ['model.shop.orders.v2', 'model'],
    ] as const) {
      const raw = validRaw();
      raw.node = { ...raw.node, uniqueId, resourceType, materialized: undefined, relation: undefined, upstream: [], tests: [] };
      expect(parseNodeInput(raw).node).toMatchObject({ uniqueId, resourceType, upstream: [], tests: [] });
    }
  });

  it.each([
    // what exactSelector writes
    'resource_type:model,package:shop,fqn:shop.marts.orders,path:models/marts/orders.sql',
    'resource_type:seed,package:shop,fqn:shop.raw_orders,file:raw_orders.csv',
    'resource_type:snapshot,package:pkg,fqn:pkg.snapshots.snap,file:snap.sql',
    'resource_type:model,package:shop,fqn:shop.my?marts.orders2,path:models/my?marts/orders2.sql',
    'resource_type:model,package:shop,fqn:shop.données.ventes,path:models/données/ventes.sql',
    'resource_type:model,package:shop,fqn:shop.marts.orders',
    // any other selector that is one argument
    'path:models/marts/orders.sql,fqn:shop.marts.orders',
    'fqn:shop.marts.orders',
    'fqn:pkg.sub.pkg_model',
    'path:models/marts-v2/orders_2024.sql,fqn:shop.marts-v2.orders_2024',
    'path:models/marts/orders_v2.sql,fqn:shop.marts.orders.v2',
    'shop.marts.orders',
    'shop.marts.orders+',
    '+orders',
    '@orders',
    'tag:a,tag:b',
    'a/b',
    'config.materialized=view',
    'fqn:shop.marts.*',
    'fqn:shop.marts[v2].orders',
    'fqn:shop.売上.orders',
    'path:models/(old)/x.sql',
  ])('accepts the selector %j', (selector) => {
    const raw = validRaw();
    raw.node = { ...raw.node, selector };
    expect(parseNodeInput(raw).node.selector).toBe(selector);
  });

  it('accepts a selector of 4096 characters', () => {
    const selector = `fqn:${'a'.repeat(4092)}`;
    expect(selector).toHaveLength(4096);
    const raw = validRaw();
    raw.node = { ...raw.node, selector };
    expect(parseNodeInput(raw).node.selector).toBe(selector);
  });

  it('keeps an explicit upstreamTimeoutSeconds', () => {
    expect(parseNodeInput({ ...validRaw(), upstreamTimeoutSeconds: 30 }).upstreamTimeoutSeconds).toBe(30);
  });
});

describe('parseNodeInput: invalid input names the field', () => {
  const withNode = (patch: Record<string, unknown>): unknown => {
    const raw = validRaw();
    return { ...raw, node: { ...raw.node, ...patch } };
  };

  it.each([
    ['orders', 'no resource type or package'],
    ['model.shop', 'only two parts'],
    ['Model.shop.orders', 'an upper-case resource type'],
    ['model.shop.orders; drop', 'a shell payload'],
    ['model.shop.', 'an empty name'],
    ['', 'empty'],
  ])('refuses the unique_id %j (%s)', (uniqueId) => {
    expect(problemsOf(withNode({ uniqueId }))).toMatch(/^node\.uniqueId: must be a dbt unique_id/);
  });

  it('refuses a unique_id over 512 characters', () => {
    expect(problemsOf(withNode({ uniqueId: `model.shop.${'a'.repeat(510)}` }))).toMatch(/^node\.uniqueId: must be at most 512 characters/);
  });

  it('refuses a bad unique_id in upstream, naming its index', () => {
    expect(problemsOf(withNode({ upstream: ['model.shop.ok', 'not an id'] }))).toMatch(/^node\.upstream\[1\]: must be a dbt unique_id/);
  });

  it.each(['test', 'unit_test', 'source', 'analysis'])('refuses resourceType %j (tests have no consumer of their own)', (resourceType) => {
    expect(problemsOf(withNode({ resourceType }))).toMatch(/^node\.resourceType: /);
  });

  it.each([
    ['shop marts orders', 'a space (dbt reads a union)'],
    ['fqn:shop.a\tfqn:shop.b', 'a tab'],
    ['fqn:shop.a\nfqn:shop.b', 'a newline'],
    ["fqn:shop.o'rders", 'a quote'],
    ['"shop.orders"', 'double quotes'],
    ['shop.orders;rm', 'a ;'],
    ['$(whoami)', 'a $'],
    ['`id`', 'backticks'],
    ['fqn:shop.a|tee', 'a |'],
    ['fqn:shop.a&', 'an &'],
    ['fqn:shop.a>out', 'a >'],
    ['fqn:shop.a<in', 'a <'],
    ['fqn:shop.a\rfqn:shop.b', 'a carriage return'],
    ['fqn:shop.a\u0000', 'a NUL'],
    ['fqn:shop.a\u001b[31m', 'an escape (a control character)'],
    ['fqn:shop.my\u00a0marts', 'a no-break space (whitespace too)'],
    ['', 'empty'],
  ])('refuses the selector %j (%s)', (selector) => {
    expect(problemsOf(withNode({ selector }))).toMatch(/^node\.selector: /);
  });

  it('refuses a selector over 4096 characters', () => {
    expect(problemsOf(withNode({ selector: `fqn:${'a'.repeat(4093)}` }))).toMatch(/^node\.selector: /);
  });

  it('refuses an unknown field on the node', () => {
    expect(problemsOf(withNode({ extra: 1 }))).toBe('node.extra: unknown field');
  });

  it('refuses an unknown top-level field', () => {
    expect(problemsOf({ ...validRaw(), select: 'orders' })).toBe('select: unknown field');
  });

  it('refuses a build flag that a rerun does not carry', () => {
    const raw = validRaw();
    expect(problemsOf({ ...raw, rerun: { ...raw.rerun, failFast: true } })).toBe('rerun.failFast: unknown field');
  });

  it('validates the rerun flags like a build input', () => {
    const raw = validRaw();
    expect(problemsOf({ ...raw, rerun: { ...raw.rerun, projectDir: 'relative' } })).toMatch(/^rerun\.projectDir: must be an absolute path/);
    expect(problemsOf({ ...raw, rerun: { ...raw.rerun, profilesDir: '../../etc' } })).toMatch(/^rerun\.profilesDir: a relative path must stay inside/);
    expect(problemsOf({ ...raw, rerun: { ...raw.rerun, threads: 0 } })).toMatch(/^rerun\.threads: must be at least 1/);
  });

  it('refuses a bad buildId', () => {
    expect(problemsOf({ ...validRaw(), buildId: 'a/b' })).toMatch(/^buildId: must be a build ID/);
  });

  it('refuses missing or out-of-range timeouts', () => {
    const { waitTimeoutSeconds: _omit, ...rest } = validRaw();
    expect(problemsOf(rest)).toMatch(/^waitTimeoutSeconds: /);
    expect(problemsOf({ ...validRaw(), waitTimeoutSeconds: 0 })).toMatch(/^waitTimeoutSeconds: /);
    expect(problemsOf({ ...validRaw(), waitTimeoutSeconds: 7 * 24 * 3600 + 1 })).toMatch(/^waitTimeoutSeconds: /);
    expect(problemsOf({ ...validRaw(), upstreamTimeoutSeconds: -1 })).toMatch(/^upstreamTimeoutSeconds: /);
  });

  it('refuses a missing node', () => {
    const { node: _omit, ...rest } = validRaw();
    expect(problemsOf(rest)).toMatch(/^node: /);
  });
});

// The dbtNode input is built from planBuild's planned nodes: every selector planBuild writes
// for a node dbt accepts must pass the schema, or that node's consumer fails at once.
describe('parseNodeInput: the selectors planBuild writes', () => {
  /** The consumer input of the one node planBuild plans for a model in `file` (fqn as dbt builds it from the folders). */
  function plannedInput(uniqueId: string, file: string, modelPath = 'models'): unknown {
    const [resourceType, packageName, name] = uniqueId.split('.') as [string, string, string];
    const folders = file.slice(modelPath.length + 1).split('/').slice(0, -1);
    const n: ManifestNode = {
      unique_id: uniqueId,
      resource_type: resourceType,
      name,
      package_name: packageName,
      fqn: [packageName, ...folders, name],
      original_file_path: file,
      depends_on: { nodes: [] },
    };
    const [planned] = planBuild({ metadata: { project_name: 'shop' }, nodes: { [uniqueId]: n } }, new Set([uniqueId])).nodes;
    const raw = validRaw();
    return { ...raw, node: { ...raw.node, uniqueId, name, packageName, selector: planned!.selector } };
  }

  it.each([
    ['model.shop.orders', 'models/marts/orders.sql', 'models'],
    ['model.shop.orders', 'models/marts-v2/sub_dir/orders.sql', 'models'],
    ['model.pkg.pkg_model', 'models/sub/pkg_model.sql', 'models'],
    ['model.shop.orders', 'dbt models/marts/orders.sql', 'dbt models'],
    ['model.shop.orders2', 'models/my marts/orders2.sql', 'models'],
    ['model.shop.orders', 'models/a,b/orders.sql', 'models'],
    ['model.pkg.pkg_model', 'models/my sub/pkg_model.sql', 'models'],
  ])('accepts the selector of %s in %s', (uniqueId, file, modelPath) => {
    expect(() => parseNodeInput(plannedInput(uniqueId, file, modelPath))).not.toThrow();
  });

  it('accepts the selector of a model in a folder with non-ASCII letters', () => {
    // dbt 1.11.16 selects it: `dbt ls --select 'path:models/données/ventes.sql,fqn:shop.données.ventes'`
    // lists model.shop.ventes. planBuild writes such a selector, and the schema takes the é.
    const input = parseNodeInput(plannedInput('model.shop.ventes', 'models/données/ventes.sql'));
    expect(input.node.selector).toBe('resource_type:model,package:shop,fqn:shop.données.ventes,path:models/données/ventes.sql');
  });
});

describe('nodeInputOf: validated at the edge', () => {
  const bad = { ...validRaw(), node: { ...validRaw().node, selector: '--target-path=/tmp/x' } };

  it('parses the input of a consumer started by hand, or by a workflow that is not its build\'s node group', () => {
    expect(() => nodeInputOf(bad, undefined)).toThrow(InvalidInputError);
    expect(() => nodeInputOf(bad, { workflowId: 'my-own-workflow' })).toThrow(InvalidInputError);
    expect(() => nodeInputOf(bad, { workflowId: 'watcher/other-build/group-1' })).toThrow(InvalidInputError);
    expect(nodeInputOf(validRaw(), undefined).upstreamTimeoutSeconds).toBe(24 * 3600);
  });

  it('takes the input its node group built as it is, with its defaults', () => {
    const input = nodeInputOf({ ...validRaw(), rerun: undefined, rerunFlagsFrom: 'watcher/nightly-1/group-2' }, { workflowId: 'watcher/nightly-1/group-2' });
    expect(input.upstreamTimeoutSeconds).toBe(24 * 3600);
    expect(input.rerunFlagsFrom).toBe('watcher/nightly-1/group-2');
    expect(input.node.uniqueId).toBe('model.shop.orders');
    expect(nodeInputOf({ ...validRaw(), upstreamTimeoutSeconds: 60 }, { workflowId: 'watcher/nightly-1/group-1' }).upstreamTimeoutSeconds).toBe(60);
  });
});
