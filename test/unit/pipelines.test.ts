import { describe, expect, it } from 'vitest';
import type { NodeConfig } from '../../src/contracts/node-config.js';
import { pipelineColumns, pipelineInputHash } from '../../src/store/pipelines.js';

const FULL: NodeConfig = {
  freshness: { number: 1, datepart: 'day' },
  timeliness: { number: 6, datepart: 'hour' },
  mute_freshness_check: true,
  mute_timeliness_check: true,
  active: false,
  owner: 'analytics',
  team: 'growth',
};

describe('pipelineColumns', () => {
  it('fills the defaults for an empty config: active, not muted, no intervals, no metadata', () => {
    expect(pipelineColumns({})).toEqual({
      freshness_number: null,
      freshness_datepart: null,
      timeliness_number: null,
      timeliness_datepart: null,
      mute_freshness_check: false,
      mute_timeliness_check: false,
      active: true,
      pipeline_metadata: null,
    });
  });

  it('maps every known key to its column and keeps the rest as metadata', () => {
    expect(pipelineColumns(FULL)).toEqual({
      freshness_number: 1,
      freshness_datepart: 'day',
      timeliness_number: 6,
      timeliness_datepart: 'hour',
      mute_freshness_check: true,
      mute_timeliness_check: true,
      active: false,
      pipeline_metadata: { owner: 'analytics', team: 'growth' },
    });
  });

  it('puts every non-column key in metadata, owner and nested values included', () => {
    const config: NodeConfig = { active: true, owner: 'o', team: 't', tier: 2, labels: { pii: true, domains: ['sales'] }, note: null };
    expect(pipelineColumns(config).pipeline_metadata).toEqual({ owner: 'o', team: 't', tier: 2, labels: { pii: true, domains: ['sales'] }, note: null });
  });

  it('leaves undefined values out of metadata, and has no metadata when only columns are set', () => {
    expect(pipelineColumns({ owner: undefined, team: 'growth' }).pipeline_metadata).toEqual({ team: 'growth' });
    expect(pipelineColumns({ owner: undefined }).pipeline_metadata).toBeNull();
    expect(pipelineColumns({ freshness: { number: 2, datepart: 'week' }, active: true, mute_freshness_check: false }).pipeline_metadata).toBeNull();
  });

  it('keeps an explicit false for the mute flags and true for active', () => {
    const cols = pipelineColumns({ mute_freshness_check: false, mute_timeliness_check: false, active: true });
    expect(cols.mute_freshness_check).toBe(false);
    expect(cols.mute_timeliness_check).toBe(false);
    expect(cols.active).toBe(true);
  });
});

describe('pipelineInputHash', () => {
  it('is a 64-character hex digest', () => {
    expect(pipelineInputHash({ name: 'model.shop.orders', type: 'dbt_model', config: FULL })).toMatch(/^[0-9a-f]{64}$/);
  });

  it('ignores the pipeline name', () => {
    const a = pipelineInputHash({ name: 'model.shop.orders', type: 'dbt_model', config: FULL });
    const b = pipelineInputHash({ name: 'model.shop.customers', type: 'dbt_model', config: FULL });
    expect(a).toBe(b);
    expect(pipelineInputHash({ name: 'a', type: 'dbt_model' })).toBe(pipelineInputHash({ name: 'b', type: 'dbt_model' }));
  });

  it('changes when the pipeline type changes', () => {
    expect(pipelineInputHash({ name: 'x', type: 'dbt_model', config: FULL })).not.toBe(pipelineInputHash({ name: 'x', type: 'dbt_seed', config: FULL }));
    expect(pipelineInputHash({ name: 'x', type: 'dbt_model' })).not.toBe(pipelineInputHash({ name: 'x', type: 'dbt_build' }));
  });

  it.each<[string, NodeConfig]>([
    ['freshness number', { ...FULL, freshness: { number: 2, datepart: 'day' } }],
    ['freshness datepart', { ...FULL, freshness: { number: 1, datepart: 'week' } }],
    ['freshness removed', { ...FULL, freshness: undefined }],
    ['timeliness number', { ...FULL, timeliness: { number: 7, datepart: 'hour' } }],
    ['timeliness datepart', { ...FULL, timeliness: { number: 6, datepart: 'minute' } }],
    ['timeliness removed', { ...FULL, timeliness: undefined }],
    ['mute_freshness_check', { ...FULL, mute_freshness_check: false }],
    ['mute_timeliness_check', { ...FULL, mute_timeliness_check: false }],
    ['active', { ...FULL, active: true }],
    ['owner', { ...FULL, owner: 'finance' }],
    ['an extra key value', { ...FULL, team: 'core' }],
    ['an extra key added', { ...FULL, tier: 1 }],
    ['an extra key removed', { ...FULL, team: undefined }],
    ['a nested metadata value', { ...FULL, labels: { pii: false } }],
  ])('changes when %s changes', (_what, changed) => {
    expect(pipelineInputHash({ name: 'p', type: 'dbt_model', config: changed })).not.toBe(pipelineInputHash({ name: 'p', type: 'dbt_model', config: FULL }));
  });

  it('is identical for the same config with its keys (and nested keys) in another order', () => {
    const reordered: NodeConfig = {
      team: 'growth',
      owner: 'analytics',
      active: false,
      mute_timeliness_check: true,
      mute_freshness_check: true,
      timeliness: { datepart: 'hour', number: 6 },
      freshness: { datepart: 'day', number: 1 },
    };
    expect(pipelineInputHash({ name: 'p', type: 'dbt_model', config: reordered })).toBe(pipelineInputHash({ name: 'p', type: 'dbt_model', config: FULL }));
    const a = pipelineInputHash({ name: 'p', type: 'dbt_model', config: { labels: { b: 1, a: [1, 2] } } });
    const b = pipelineInputHash({ name: 'p', type: 'dbt_model', config: { labels: { a: [1, 2], b: 1 } } });
    expect(a).toBe(b);
  });

  it('treats values that write the same row as the same config (explicit defaults = omitted)', () => {
    const omitted = pipelineInputHash({ name: 'p', type: 'dbt_model', config: {} });
    const explicit = pipelineInputHash({ name: 'p', type: 'dbt_model', config: { active: true, mute_freshness_check: false, mute_timeliness_check: false } });
    expect(explicit).toBe(omitted);
  });

  it('tells "no config" (only ensure the pipeline exists) from an empty config', () => {
    expect(pipelineInputHash({ name: 'p', type: 'dbt_model' })).not.toBe(pipelineInputHash({ name: 'p', type: 'dbt_model', config: {} }));
  });
});
