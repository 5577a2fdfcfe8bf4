import { describe, expect, it } from 'vitest';
import { frameName, summarizeCpuProfile, type CpuProfile } from '../../bench/lib/cpu-profile.js';

const frame = (functionName: string, url = '', lineNumber = -1) => ({ functionName, url, lineNumber });

// (root) → a → b (10 ms), (root) → a → a → c (5 ms) [a recursive], (root) → (idle) 100 ms,
// (root) → (garbage collector) 3 ms, and 1 ms in a itself.
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)'), children: [2, 6, 7] },
    { id: 2, callFrame: frame('a', 'file:///app/src/a.ts', 9), children: [3, 4] },
    { id: 3, callFrame: frame('b', 'file:///app/node_modules/lib/b.js', 0) },
    { id: 4, callFrame: frame('a', 'file:///app/src/a.ts', 9), children: [5] },
    { id: 5, callFrame: frame('', 'file:///app/src/c.ts', 2) },
    { id: 6, callFrame: frame('(idle)') },
    { id: 7, callFrame: frame('(garbage collector)') },
  ],
  samples: [3, 3, 5, 6, 7, 2],
  timeDeltas: [4000, 6000, 5000, 100_000, 3000, 1000],
};

describe('summarizeCpuProfile', () => {
  const summary = summarizeCpuProfile(profile);
  const ms = (rows: Array<{ frame: string; ms: number }>, name: string) => rows.find((r) => r.frame === name)?.ms;

  it('counts busy time apart from idle, and GC within busy', () => {
    expect(summary.busyMs).toBe(19);
    expect(summary.idleMs).toBe(100);
    expect(summary.gcMs).toBe(3);
  });

  it("counts a recursive frame's inclusive time once, and each frame's self time", () => {
    expect(ms(summary.inclusive, 'a src/a.ts:10')).toBe(16);
    expect(ms(summary.self, 'a src/a.ts:10')).toBe(1);
    expect(ms(summary.self, 'b lib/b.js:1')).toBe(10);
    expect(ms(summary.inclusive, '(anonymous) src/c.ts:3')).toBe(5);
    expect(summary.self[0]).toEqual({ frame: 'b lib/b.js:1', ms: 10 });
    expect(summary.inclusive.map((r) => r.frame)).not.toContain('(idle)');
    expect(summary.inclusive.map((r) => r.frame)).not.toContain('(root)');
  });

  it('keeps the top N frames', () => {
    expect(summarizeCpuProfile(profile, 2).self).toHaveLength(2);
  });
});

describe('frameName', () => {
  it('names a frame by function, file and 1-based line', () => {
    expect(frameName(frame('run', 'file:///x/node_modules/@temporalio/worker/lib/worker.js', 41))).toBe('run @temporalio/worker/lib/worker.js:42');
    expect(frameName(frame('', 'file:///home/u/app/src/dbt/events.ts', 0))).toBe('(anonymous) dbt/events.ts:1');
    expect(frameName(frame('(program)'))).toBe('(program)');
  });
});
