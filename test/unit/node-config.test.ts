import { describe, expect, it } from 'vitest';
import { DATEPARTS, parseNodeConfig } from '../../src/contracts/node-config.js';

/** The error for a config that must be refused; fails the test if it was accepted. */
function errorOf(meta: unknown): string {
  const result = parseNodeConfig(meta);
  expect(result.config, `expected ${JSON.stringify(meta)} to be refused`).toBeUndefined();
  expect(result.error).toBeDefined();
  return result.error!;
}

describe('parseNodeConfig: nothing to parse', () => {
  it.each([undefined, null])('returns an empty result (no config, no error) for %j', (meta) => {
    expect(parseNodeConfig(meta)).toEqual({});
  });

  it('accepts an empty object as a config with nothing set', () => {
    expect(parseNodeConfig({})).toEqual({ config: {} });
  });
});

describe('parseNodeConfig: intervals', () => {
  it('keeps the object form {number, datepart} as it is, for freshness and timeliness', () => {
    expect(parseNodeConfig({ freshness: { number: 1, datepart: 'day' }, timeliness: { number: 6, datepart: 'hour' } })).toEqual({
      config: { freshness: { number: 1, datepart: 'day' }, timeliness: { number: 6, datepart: 'hour' } },
    });
  });

  it.each([
    ['1 day', { number: 1, datepart: 'day' }],
    ['24 hours', { number: 24, datepart: 'hour' }],
    ['30 Minutes', { number: 30, datepart: 'minute' }],
    ['2 WEEKS', { number: 2, datepart: 'week' }],
    ['1 month', { number: 1, datepart: 'month' }],
    ['1 years', { number: 1, datepart: 'year' }],
    ['  12   hour  ', { number: 12, datepart: 'hour' }],
    ['7days', { number: 7, datepart: 'day' }],
  ])('normalises the shorthand %j to %j', (shorthand, expected) => {
    expect(parseNodeConfig({ freshness: shorthand })).toEqual({ config: { freshness: expected } });
    expect(parseNodeConfig({ timeliness: shorthand })).toEqual({ config: { timeliness: expected } });
  });

  it('accepts every datepart, singular and plural, in both forms', () => {
    for (const datepart of DATEPARTS) {
      expect(parseNodeConfig({ freshness: { number: 3, datepart } }).config?.freshness).toEqual({ number: 3, datepart });
      expect(parseNodeConfig({ freshness: `3 ${datepart}` }).config?.freshness).toEqual({ number: 3, datepart });
      expect(parseNodeConfig({ freshness: `3 ${datepart}s` }).config?.freshness).toEqual({ number: 3, datepart });
    }
  });

  it('refuses an unknown datepart in the object form, naming the field', () => {
    const error = errorOf({ freshness: { number: 1, datepart: 'fortnight' } });
    expect(error.startsWith('meta.watcher:')).toBe(true);
    expect(error).toContain('freshness.datepart');
  });

  it.each([
    [0, 'freshness.number'],
    [-1, 'freshness.number'],
    [1.5, 'freshness.number'],
  ])('refuses number %j in the object form, naming the field', (number, field) => {
    const error = errorOf({ freshness: { number, datepart: 'day' } });
    expect(error.startsWith('meta.watcher:')).toBe(true);
    expect(error).toContain(field);
  });

  it.each(['1 fortnight', '-1 day', '1.5 days', 'day', '1', 'one day', '1 day ago', '1 days 2 hours', ''])(
    'refuses the shorthand %j, naming the field',
    (shorthand) => {
      const error = errorOf({ timeliness: shorthand });
      expect(error.startsWith('meta.watcher:')).toBe(true);
      expect(error).toContain('timeliness');
    },
  );

  // The object form refuses 0 (positive()), and the pipeline table has CHECK (freshness_number > 0),
  // so a zero shorthand must be refused here rather than break the pipeline sync.
  it('refuses a zero shorthand ("0 days", "00 minutes") like the object form refuses number 0', () => {
    for (const shorthand of ['0 days', '00 minutes']) {
      const error = errorOf({ freshness: shorthand });
      expect(error.startsWith('meta.watcher:')).toBe(true);
      expect(error).toContain('freshness');
    }
  });

  it('refuses extra keys inside the object form', () => {
    const error = errorOf({ freshness: { number: 1, datepart: 'day', grace: 2 } });
    expect(error.startsWith('meta.watcher:')).toBe(true);
    expect(error).toContain('freshness');
  });
});

describe('parseNodeConfig: flags and other fields', () => {
  it('keeps boolean flags', () => {
    expect(parseNodeConfig({ active: false, mute_freshness_check: true, mute_timeliness_check: false })).toEqual({
      config: { active: false, mute_freshness_check: true, mute_timeliness_check: false },
    });
  });

  it.each([
    ['active', 'yes'],
    ['active', 0],
    ['active', 'false'],
    ['mute_freshness_check', 1],
    ['mute_timeliness_check', 'true'],
  ])('refuses a non-boolean %s (%j), naming the field', (field, value) => {
    const error = errorOf({ [field]: value });
    expect(error.startsWith('meta.watcher:')).toBe(true);
    expect(error).toContain(field);
  });

  it('keeps extra keys (owner, team, tier, nested objects) as they are', () => {
    const meta = { owner: 'analytics', team: 'growth', tier: 1, labels: { pii: true }, freshness: '1 day' };
    expect(parseNodeConfig(meta)).toEqual({
      config: { owner: 'analytics', team: 'growth', tier: 1, labels: { pii: true }, freshness: { number: 1, datepart: 'day' } },
    });
  });

  it('refuses a non-string or over-long owner, naming the field', () => {
    expect(errorOf({ owner: 42 })).toMatch(/^meta\.watcher: .*owner/);
    expect(errorOf({ owner: 'x'.repeat(257) })).toMatch(/^meta\.watcher: .*owner/);
    expect(parseNodeConfig({ owner: 'x'.repeat(256) }).config?.owner).toHaveLength(256);
  });

  it('names every bad field when several are wrong', () => {
    const error = errorOf({ active: 'no', freshness: '1 fortnight', timeliness: { number: 0, datepart: 'day' } });
    expect(error.startsWith('meta.watcher:')).toBe(true);
    expect(error).toContain('active');
    expect(error).toContain('freshness');
    expect(error).toContain('timeliness.number');
  });

  it.each(['1 day', 42, true, [1, 2]])('refuses a meta.watcher that is not an object (%j)', (meta) => {
    expect(errorOf(meta).startsWith('meta.watcher:')).toBe(true);
  });

  it('does not modify the input object', () => {
    const meta = { freshness: '1 day', team: 'growth' };
    parseNodeConfig(meta);
    expect(meta).toEqual({ freshness: '1 day', team: 'growth' });
  });
});
