import { describe, expect, it } from 'vitest';
import { parseNodeInput, type NodeInputRaw } from '../../src/contracts/node-input.js';
import { InvalidInputError } from '../../src/contracts/validation.js';

function validRaw(): NodeInputRaw {
  return {
    buildId: 'nightly-1',
    node: {
      uniqueId: 'model.shop.orders',
      resourceType: 'model',
      name: 'orders',
      packageName: 'shop',
      selector: 'shop.marts.orders',
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

  it.each(['shop marts orders', 'shop.marts.orders+', '+orders', 'tag:a,tag:b', 'a/b', ''])('refuses the selector %j', (selector) => {
    expect(problemsOf(withNode({ selector }))).toMatch(/^node\.selector: /);
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
