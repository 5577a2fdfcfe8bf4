// A benchmark's report: lines printed as they come (progress to stderr, results to stdout) and
// saved under bench/results/<name>-<time>.txt at the end.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface BenchReport {
  /** A result line: printed and kept for the saved report. */
  out(line?: string): void;
  /** A progress line on stderr, with the seconds since the benchmark started. */
  progress(line: string): void;
  /** Seconds since the benchmark started. */
  elapsedSeconds(): number;
  /** Writes the result lines to bench/results; returns the file. */
  save(): string;
}

export function benchReport(name: string): BenchReport {
  const started = performance.now();
  const lines: string[] = [];
  const elapsedSeconds = () => (performance.now() - started) / 1000;
  return {
    out(line = '') {
      lines.push(line);
      console.log(line);
    },
    progress(line) {
      console.error(`[${elapsedSeconds().toFixed(1)} s] ${line}`);
    },
    elapsedSeconds,
    save() {
      const dir = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'results');
      mkdirSync(dir, { recursive: true });
      const file = path.join(dir, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.txt`);
      writeFileSync(file, `${lines.join('\n')}\n`);
      return file;
    },
  };
}
