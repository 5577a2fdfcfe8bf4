// Where the Temporal dev server's CPU went: reads a `perf record -g` file of the server (e.g.
// from `bench/profile-build.ts --perf-server FILE`) and names its frames with the Go
// toolchain's `go tool addr2line` (the temporal binary is stripped, but Go keeps its own
// symbol table). Needs `perf` and `go` on PATH.
//
//   npx tsx bench/go-perf-summary.ts PERF_DATA TEMPORAL_BINARY [--top 40] [--match TEXT]
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { clipFrame } from './lib/cpu-profile.js';
import { binaryOffsets, elfLoadBase, parsePerfScript, summarizeSamples, type Frame, type FrameShare } from './lib/go-perf.js';

const { values: args, positionals } = parseArgs({
  options: { top: { type: 'string', default: '40' }, match: { type: 'string' } },
  allowPositionals: true,
});
const [perfData, binaryArg] = positionals;
if (!perfData || !binaryArg) {
  console.error('usage: npx tsx bench/go-perf-summary.ts PERF_DATA TEMPORAL_BINARY [--top N] [--match TEXT]');
  process.exit(2);
}
const binary = path.resolve(binaryArg);

function run(command: string, argv: string[], input?: string): string {
  const r = spawnSync(command, argv, { input, encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.error) throw new Error(`${command} could not run (${r.error.message}): install it to read a Go binary's perf samples`);
  if (r.status !== 0) throw new Error(`${command} ${argv.join(' ')} exited ${r.status}: ${r.stderr.slice(0, 2000)}`);
  return r.stdout;
}

const header = Buffer.alloc(4096);
const fd = openSync(binary, 'r');
readSync(fd, header, 0, header.length, 0);
closeSync(fd);
const base = elfLoadBase(header);

const samples = parsePerfScript(run('perf', ['script', '-i', perfData, '-F', 'ip,dso']), binary);
if (samples.length === 0) throw new Error(`no samples of ${binary} in ${perfData}`);
const offsets = binaryOffsets(samples);
// addr2line answers two lines per address: the function, then file:line.
const lines = run('go', ['tool', 'addr2line', binary], offsets.map((o) => `0x${(o + base).toString(16)}`).join('\n') + '\n').split('\n');
const functionAt = new Map(offsets.map((o, i) => [o, lines[2 * i] ?? '?']));
const short = (f: string) => f.replace('go.temporal.io/server/', 'server/').replace('google.golang.org/', '').replace('modernc.org/', '');
const name = (f: Frame) => ('binaryOffset' in f ? short(functionAt.get(f.binaryOffset) ?? '?') : `[${f.elsewhere}]`);

// With --match, every function that matches (not only the top N).
const summary = summarizeSamples(samples, name, args.match ? Number.MAX_SAFE_INTEGER : Number(args.top));
const table = (title: string, rows: FrameShare[]) => {
  console.log(title);
  for (const { frame, percent } of rows) if (!args.match || frame.includes(args.match)) console.log(`  ${percent.toFixed(1).padStart(5)}%  ${clipFrame(frame)}`);
};
console.log(`${summary.samples} samples of ${path.basename(binary)}`);
table('by the leaf frame (self)', summary.self.slice(0, Number(args.top)));
table('with the function on the stack (inclusive)', summary.inclusive);
