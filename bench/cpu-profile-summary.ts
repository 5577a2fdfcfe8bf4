// Where a profiled process's CPU went, thread by thread: reads the `.cpuprofile` files that
// `node --cpu-prof` writes (one per thread; e.g. `bench/profile-build.ts --cpu-prof DIR` for
// the worker) and prints each thread's busy time, its frames by self time, and by inclusive time.
//
//   npx tsx bench/cpu-profile-summary.ts DIR|FILE... [--top 30]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { clipFrame, summarizeCpuProfile, type CpuProfile, type FrameTime } from './lib/cpu-profile.js';

const { values: args, positionals } = parseArgs({
  options: { top: { type: 'string', default: '30' } },
  allowPositionals: true,
});
const top = Number(args.top);
if (positionals.length === 0 || !Number.isInteger(top) || top < 1) {
  console.error('usage: npx tsx bench/cpu-profile-summary.ts DIR|FILE... [--top N]');
  process.exit(2);
}
const files = positionals.flatMap((p) =>
  statSync(p).isDirectory()
    ? readdirSync(p)
        .filter((f) => f.endsWith('.cpuprofile'))
        .sort()
        .map((f) => path.join(p, f))
    : [p],
);
if (files.length === 0) {
  console.error(`no .cpuprofile file in ${positionals.join(', ')}`);
  process.exit(2);
}

const table = (title: string, rows: FrameTime[], busyMs: number) => {
  console.log(`  ${title}`);
  for (const { frame, ms } of rows) console.log(`    ${ms.toFixed(0).padStart(7)} ms ${((ms / busyMs) * 100).toFixed(1).padStart(5)}%  ${clipFrame(frame)}`);
};
for (const file of files) {
  const summary = summarizeCpuProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, top);
  console.log(`${path.basename(file)}: busy ${(summary.busyMs / 1000).toFixed(2)} s (garbage collector ${(summary.gcMs / 1000).toFixed(2)} s), idle ${(summary.idleMs / 1000).toFixed(2)} s`);
  if (summary.busyMs < 1) continue;
  table('by self time (% of busy)', summary.self, summary.busyMs);
  table('by inclusive time: the frame and all it called (% of busy)', summary.inclusive, summary.busyMs);
}
