import { describe, expect, it } from 'vitest';
import { anomalyBand, baselineStats, decideAnomaly } from '../../src/monitoring/anomaly.js';

describe('baselineStats', () => {
  it('uses the sample standard deviation (n - 1)', () => {
    const s = baselineStats([2, 4, 4, 4, 5, 5, 7, 9]);
    expect(s.mean).toBe(5);
    // population sd would be 2; sample sd is sqrt(32 / 7)
    expect(s.sd).toBeCloseTo(Math.sqrt(32 / 7), 12);
    expect(s.count).toBe(8);
  });

  it('has no spread with fewer than two values', () => {
    expect(baselineStats([]).sd).toBe(0);
    expect(baselineStats([3]).sd).toBe(0);
  });
});

describe('anomalyBand', () => {
  it('is mean ± z·sd with the lower end clamped at 0', () => {
    expect(anomalyBand({ count: 10, mean: 100, sd: 10 }, 3)).toEqual({ min: 70, max: 130 });
    expect(anomalyBand({ count: 10, mean: 10, sd: 10 }, 3)).toEqual({ min: 0, max: 40 });
  });
});

describe('decideAnomaly', () => {
  const baseline = [90, 95, 100, 105, 110]; // mean 100, sd sqrt(62.5) ≈ 7.9057
  const rule = { zThreshold: 2, minimumExecutions: 5 };

  it('flags a value above the band and one below it, with the z-score', () => {
    const above = decideAnomaly(120, baseline, rule);
    expect(above.kind).toBe('anomaly');
    if (above.kind !== 'anomaly') throw new Error('unreachable');
    expect(above.zScore).toBeCloseTo(20 / Math.sqrt(62.5), 10);
    expect(above.band.max).toBeCloseTo(100 + 2 * Math.sqrt(62.5), 10);

    const below = decideAnomaly(80, baseline, rule);
    expect(below.kind).toBe('anomaly');
    if (below.kind !== 'anomaly') throw new Error('unreachable');
    expect(below.zScore).toBeLessThan(-2);
  });

  it('keeps values inside the band, the band edges included', () => {
    expect(decideAnomaly(110, baseline, rule).kind).toBe('normal');
    const edge = 100 + 2 * Math.sqrt(62.5);
    expect(decideAnomaly(edge, baseline, rule).kind).toBe('normal');
  });

  it('skips with too few executions, with no variance, and without a value', () => {
    expect(decideAnomaly(1000, baseline.slice(0, 4), rule)).toMatchObject({ kind: 'skip', reason: 'too_few_executions' });
    expect(decideAnomaly(1000, [5, 5, 5, 5, 5], rule)).toMatchObject({ kind: 'skip', reason: 'no_variance' });
    expect(decideAnomaly(null, baseline, rule)).toMatchObject({ kind: 'skip', reason: 'no_value' });
  });

  it('never flags 0 below a band whose lower end is clamped at 0', () => {
    expect(decideAnomaly(0, [0, 10, 20, 0, 10], { zThreshold: 3, minimumExecutions: 5 }).kind).toBe('normal');
  });
});
