import { describe, expect, it } from 'vitest';
import { addressRequestHash, autoCreateAnomalyRules, pairProblem, pipelineRequestHash, setClause, splitDatabaseAddress } from '../../src/store/catalog.js';
import { pipelineInputHash } from '../../src/store/pipelines.js';

describe('pairProblem', () => {
  it('accepts a pair set together, or neither (null and absent alike)', () => {
    expect(pairProblem('freshness', { freshness_number: 1, freshness_datepart: 'day' })).toBeUndefined();
    expect(pairProblem('freshness', { freshness_number: null, freshness_datepart: null })).toBeUndefined();
    expect(pairProblem('timeliness', {})).toBeUndefined();
  });

  it('blames the missing half', () => {
    expect(pairProblem('freshness', { freshness_number: 2, freshness_datepart: null })?.field).toBe('freshness_datepart');
    expect(pairProblem('timeliness', { timeliness_datepart: 'hour' })?.field).toBe('timeliness_number');
  });

  it('for a PATCH, refuses one key without the other even when it is null', () => {
    expect(pairProblem('freshness', { freshness_number: null }, true)?.field).toBe('freshness_datepart');
    expect(pairProblem('freshness', { freshness_number: null }, false)).toBeUndefined();
    expect(pairProblem('freshness', { freshness_number: null, freshness_datepart: null }, true)).toBeUndefined();
  });
});

describe('splitDatabaseAddress', () => {
  it('splits a database-group name of three parts', () => {
    expect(splitDatabaseAddress('db.sch.tbl', 'database')).toEqual({ database_name: 'db', schema_name: 'sch', table_name: 'tbl' });
  });

  it('leaves other groups and other shapes alone', () => {
    expect(splitDatabaseAddress('db.sch.tbl', 'api')).toBeUndefined();
    expect(splitDatabaseAddress('sch.tbl', 'database')).toBeUndefined();
    expect(splitDatabaseAddress('a.b.c.d', 'database')).toBeUndefined();
  });
});

describe('request hashes', () => {
  const input = { name: 'p', pipeline_type_name: 'extract', freshness_number: 1, freshness_datepart: 'day' as const };

  it('ignore next_watermark and key order, and are SHA-256 hex', () => {
    const hash = pipelineRequestHash(input);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(pipelineRequestHash({ ...input, next_watermark: '42' })).toBe(hash);
    expect(pipelineRequestHash({ freshness_datepart: 'day', freshness_number: 1, pipeline_type_name: 'extract', name: 'p' })).toBe(hash);
  });

  it('count a field sent as null as set (it is written), unlike an absent one', () => {
    expect(pipelineRequestHash({ ...input, pipeline_metadata: null })).not.toBe(pipelineRequestHash(input));
  });

  it("never equal the dbt sync's hash of the same settings, so the two writers cannot mask each other's change", () => {
    const dbt = pipelineInputHash({ name: 'p', type: 'extract', config: { freshness: { number: 1, datepart: 'day' } } });
    expect(pipelineRequestHash(input)).not.toBe(dbt);
    expect(addressRequestHash({ name: 'p', address_type_name: 'extract', address_type_group_name: 'x' })).not.toBe(pipelineRequestHash(input));
  });
});

describe('setClause', () => {
  it('assigns only defined values of whitelisted columns, numbering parameters from the given one, JSON for objects', () => {
    const clause = setClause({ active: false, watermark: null, pipeline_metadata: { a: 1 }, bogus: 1, name: undefined }, ['name', 'active', 'watermark', 'pipeline_metadata'], 2);
    expect(clause.sql).toEqual(['active = $2', 'watermark = $3', 'pipeline_metadata = $4']);
    expect(clause.params).toEqual([false, null, '{"a":1}']);
  });
});

describe('autoCreateAnomalyRules', () => {
  it('reads WATCHER_AUTO_CREATE_ANOMALY_DETECTION_RULES', () => {
    expect(autoCreateAnomalyRules({ WATCHER_AUTO_CREATE_ANOMALY_DETECTION_RULES: 'true' })).toBe(true);
    expect(autoCreateAnomalyRules({ WATCHER_AUTO_CREATE_ANOMALY_DETECTION_RULES: 'False' })).toBe(false);
    expect(autoCreateAnomalyRules({})).toBe(false);
  });
});
