import { describe, expect, it } from 'vitest';
import { planBuild } from '../../src/build/plan.js';
import { decideStaleSkips, sourceFreshnessResults } from '../../src/build/source-freshness.js';
import { parseBuildInput } from '../../src/contracts/build-input.js';
import type { DbtNodeResult } from '../../src/contracts/messages.js';
import { skippedNodesBySource, type SourceFreshnessResult } from '../../src/contracts/source-freshness.js';
import { sourceFreshnessExecutionStatus } from '../../src/contracts/status.js';
import type { Manifest, ManifestNode, SourcesJson } from '../../src/dbt/artifacts.js';
import { buildArgs, sourceFreshnessArgs } from '../../src/dbt/command.js';
import { sourceSelector } from '../../src/dbt/selectors.js';
import { sourceFreshnessAlert } from '../../src/monitoring/check-alerts.js';
import { sourceFreshnessRecords } from '../../src/recording/records.js';

const STALE = 'source.shop.raw.orders';
const FRESH = 'source.shop.raw.customers';
const UNKNOWN = 'source.shop.raw.payments';

function source(uniqueId: string): ManifestNode {
  const [, pkg, sourceName, table] = uniqueId.split('.');
  return { unique_id: uniqueId, resource_type: 'source', name: table!, source_name: sourceName!, package_name: pkg!, fqn: [pkg!, sourceName!, table!] };
}

function model(name: string, dependsOn: string[], extra: Partial<ManifestNode> = {}): ManifestNode {
  return {
    unique_id: `model.shop.${name}`,
    resource_type: 'model',
    name,
    package_name: 'shop',
    fqn: ['shop', name],
    original_file_path: `models/${name}.sql`,
    alias: name,
    config: { materialized: 'table' },
    depends_on: { nodes: dependsOn },
    ...extra,
  };
}

function manifest(nodes: ManifestNode[]): Manifest {
  return {
    metadata: { project_name: 'shop' },
    nodes: Object.fromEntries(nodes.map((n) => [n.unique_id, n])),
    sources: Object.fromEntries([STALE, FRESH, UNKNOWN].map((id) => [id, source(id)])),
  };
}

const sourcesJson: SourcesJson = {
  metadata: { invocation_id: 'inv-1' },
  results: [
    {
      unique_id: STALE,
      status: 'error',
      max_loaded_at: '2026-11-29T15:23:22.885847+00:00',
      snapshotted_at: '2026-12-02T15:23:55.471719+00:00',
      max_loaded_at_time_ago_in_s: 259232.5,
      criteria: { warn_after: { count: null, period: null }, error_after: { count: 1, period: 'hour' }, filter: null },
      timing: [
        { name: 'compile', started_at: '2026-12-02T15:23:55.397505Z', completed_at: '2026-12-02T15:23:55.397522Z' },
        { name: 'execute', started_at: '2026-12-02T15:23:55.401408Z', completed_at: '2026-12-02T15:23:55.487370Z' },
      ],
    },
    { unique_id: FRESH, status: 'pass', max_loaded_at: '2026-12-02T15:23:22+00:00', criteria: { error_after: { count: 1, period: 'hour' } } },
    { unique_id: 'source.shop.raw.unrelated', status: 'error', max_loaded_at: '2020-01-01T00:00:00+00:00' },
  ],
};

// dbt 1.11 leaves runtime errors out of sources.json: their NodeFinished event says why.
const runtimeError: DbtNodeResult = {
  uniqueId: UNKNOWN,
  resourceType: 'source',
  status: 'error',
  dbtStatus: 'runtime error',
  message: 'Database Error in source payments: column "loaded_at" does not exist',
  source: 'event',
};

describe('sourceFreshnessResults', () => {
  const results = sourceFreshnessResults(sourcesJson, [runtimeError], new Set([STALE, FRESH, UNKNOWN]));

  it("reads each wanted source's status, times and criteria from sources.json", () => {
    expect(results.find((r) => r.uniqueId === STALE)).toEqual({
      uniqueId: STALE,
      status: 'error',
      maxLoadedAt: '2026-11-29T15:23:22.885847+00:00',
      snapshottedAt: '2026-12-02T15:23:55.471719+00:00',
      ageSeconds: 259232.5,
      errorAfter: { count: 1, period: 'hour' },
      startedAt: '2026-12-02T15:23:55.401408Z',
      finishedAt: '2026-12-02T15:23:55.487370Z',
    });
    expect(results.find((r) => r.uniqueId === FRESH)).toMatchObject({ status: 'pass', maxLoadedAt: '2026-12-02T15:23:22+00:00' });
  });

  it('takes a runtime error from its event, and leaves out sources the build does not read', () => {
    expect(results.find((r) => r.uniqueId === UNKNOWN)).toEqual({ uniqueId: UNKNOWN, status: 'runtime error', message: runtimeError.message });
    expect(results.map((r) => r.uniqueId)).toEqual([FRESH, STALE, UNKNOWN].sort());
  });

  it('without a sources.json (dbt failed before it wrote one) has only the events', () => {
    expect(sourceFreshnessResults(undefined, [runtimeError]).map((r) => r.status)).toEqual(['runtime error']);
  });
});

describe('decideStaleSkips', () => {
  const m = manifest([
    model('stg_orders', [STALE]),
    model('stg_customers', [FRESH]),
    model('stg_payments', [UNKNOWN]),
    model('eph_orders', [STALE], { config: { materialized: 'ephemeral' } }),
    model('through_ephemeral', ['model.shop.eph_orders']),
    model('orders_summary', ['model.shop.stg_orders']),
    model('orders_by_customer', ['model.shop.stg_orders', 'model.shop.stg_customers']),
    model('orders_and_source', ['model.shop.stg_orders', STALE]),
    model('payments_of_orders', ['model.shop.stg_orders', 'model.shop.stg_payments']),
    model('constant', []),
  ]);
  const results: SourceFreshnessResult[] = [
    { uniqueId: STALE, status: 'error', maxLoadedAt: '2026-11-29T15:23:22+00:00', errorAfter: { count: 1, period: 'day' } },
    { uniqueId: FRESH, status: 'pass' },
    { uniqueId: UNKNOWN, status: 'runtime error' },
  ];
  const order = ['stg_orders', 'stg_customers', 'stg_payments', 'through_ephemeral', 'orders_summary', 'orders_by_customer', 'orders_and_source', 'payments_of_orders', 'constant'].map(
    (n) => `model.shop.${n}`,
  );
  const skips = decideStaleSkips(m, order, results);
  const byId = new Map(skips.map((s) => [s.uniqueId, s]));

  it('leaves out a model whose sources are all stale, with the cause', () => {
    expect(byId.get('model.shop.stg_orders')).toEqual({
      uniqueId: 'model.shop.stg_orders',
      cause: `all sources stale: ${STALE} (max_loaded_at 2026-11-29T15:23:22+00:00, error after 1 day)`,
      sources: [STALE],
      selector: 'resource_type:model,package:shop,fqn:shop.stg_orders,path:models/stg_orders.sql',
    });
    expect(byId.has('model.shop.through_ephemeral')).toBe(true);
  });

  it('leaves out what reads nothing but stale sources and left-out models', () => {
    expect(byId.get('model.shop.orders_summary')!.cause).toBe('all upstream stale: model.shop.stg_orders (skipped)');
    expect(byId.get('model.shop.orders_summary')!.sources).toEqual([STALE]);
    expect(byId.has('model.shop.orders_and_source')).toBe(true);
  });

  it('builds a node that also reads something fresh, unknown or built, and a node that reads nothing', () => {
    for (const n of ['stg_customers', 'stg_payments', 'orders_by_customer', 'payments_of_orders', 'constant']) expect(byId.has(`model.shop.${n}`), n).toBe(false);
  });

  it('leaves nothing out when no source is stale', () => {
    expect(decideStaleSkips(m, order, results.filter((r) => r.status !== 'error'))).toEqual([]);
  });

  it('says which nodes each stale source kept out', () => {
    expect(skippedNodesBySource(skips).get(STALE)).toEqual(skips.map((s) => s.uniqueId));
  });
});

describe('the plan, the command lines and the input', () => {
  it('plans the sources its nodes read (through ephemeral models), as exact source: selectors', () => {
    const m = manifest([model('eph', [STALE], { config: { materialized: 'ephemeral' } }), model('a', ['model.shop.eph', FRESH])]);
    expect(planBuild(m, new Set(['model.shop.a'])).sources).toEqual({ [STALE]: 'source:shop.raw.orders', [FRESH]: 'source:shop.raw.customers' });
    expect(planBuild(manifest([model('b', [])]), new Set(['model.shop.b'])).sources).toBeUndefined();
  });

  it('never lets a name split the source: criterion', () => {
    expect(sourceSelector({ ...source(STALE), source_name: 'raw data', name: 'orders.v2' })).toBe('source:shop.raw?data.orders?v2');
  });

  const input = parseBuildInput({ projectDir: '/p', exclude: 'tag:slow', sourceFreshness: 'skip-stale' });
  const paths = { targetPath: '/p/t', logPath: '/p/l' };

  it('runs dbt source freshness over the selected sources, and leaves stale nodes out of the build', () => {
    const args = sourceFreshnessArgs(input, paths, ['source:shop.raw.orders']);
    expect(args.slice(0, 2)).toEqual(['source', 'freshness']);
    expect(args.slice(args.indexOf('--select'))).toEqual(['--select', 'source:shop.raw.orders']);
    expect(sourceFreshnessArgs(input, paths, [])).not.toContain('--select');
    const build = buildArgs(input, paths, undefined, ['resource_type:model,package:shop,fqn:shop.a']);
    expect(build.slice(build.indexOf('--exclude'))).toEqual(['--exclude', 'tag:slow', 'resource_type:model,package:shop,fqn:shop.a']);
  });

  it('refuses an unknown mode naming the field, and leaves an input without one as it was', () => {
    expect(() => parseBuildInput({ projectDir: '/p', sourceFreshness: 'always' })).toThrow(/sourceFreshness: must be one of off, warn, skip-stale/);
    expect(parseBuildInput({ projectDir: '/p' })).not.toHaveProperty('sourceFreshness');
  });
});

describe('records and alerts', () => {
  const stale: SourceFreshnessResult = { uniqueId: STALE, status: 'error', maxLoadedAt: '2026-11-29T15:23:22+00:00', errorAfter: { count: 1, period: 'hour' }, startedAt: '2026-12-02T15:23:55Z', finishedAt: '2026-12-02T15:23:56Z' };

  it('records each source checked under the build, its status from the outcome module', () => {
    expect(['pass', 'warn', 'error', 'runtime error'].map(sourceFreshnessExecutionStatus)).toEqual(['success', 'warn', 'fail', 'error']);
    const [record] = sourceFreshnessRecords('build:watcher/b:r', [stale], new Map([[STALE, ['model.shop.a']]]), 0);
    expect(record).toMatchObject({
      key: `build:watcher/b:r/source:${STALE}`,
      parentKey: 'build:watcher/b:r',
      pipeline: { name: STALE, type: 'dbt_source' },
      status: 'fail',
      startDate: stale.startedAt,
      endDate: stale.finishedAt,
      metadata: { max_loaded_at: stale.maxLoadedAt, error_after: '1 hour', skipped_nodes: ['model.shop.a'] },
    });
  });

  it('alerts a stale source once per max_loaded_at', () => {
    const alert = sourceFreshnessAlert(stale, { buildId: 'b', skipped: ['model.shop.a'] }, '2026-12-02T15:24:00Z');
    expect(alert).toMatchObject({ kind: 'freshness_stale', idempotencyKey: `source_freshness:${STALE}:2026-11-29T15:23:22+00:00` });
    expect(alert.message).toContain('left out 1 node');
  });
});
