// Where the machine's CPU went during a run, phase by phase: every 100 ms, the machine's busy
// CPU (/proc/stat) and the CPU of named processes (/proc/<pid>/stat). A phase's share of each is
// read afterwards by time, so phases found later (from a workflow history or dbt's log) can be
// accounted. What no named process used is "the rest": dbt and Postgres during a build.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { processUsage } from './stack.js';

interface Sample {
  atMs: number;
  busySeconds: number;
  processSeconds: number[];
}

export interface PhaseCpu {
  wallSeconds: number;
  /** Busy CPU of the whole machine, in core-seconds. */
  busySeconds: number;
  /** Each named process's CPU, in core-seconds, in the order the sampler was given them. */
  processSeconds: number[];
  /** busySeconds over what the machine's cores could give in the phase (1 = every core busy). */
  utilization: number;
}

const TICKS_PER_SECOND = 100;

/** The machine's busy time so far: every jiffy that was not idle or waiting on I/O. */
function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return (user! + nice! + system! + irq! + softirq! + steal!) / TICKS_PER_SECOND;
}

export class CpuSampler {
  private readonly samples: Sample[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pids: number[]) {
    this.sample();
    this.timer = setInterval(() => this.sample(), 100);
  }

  private sample(): void {
    this.samples.push({
      atMs: Date.now(),
      busySeconds: machineBusySeconds(),
      processSeconds: this.pids.map((pid) => processUsage(pid).cpuSeconds),
    });
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }

  /** The CPU used between two moments (each rounded to the nearest sample). */
  between(fromMs: number, toMs: number): PhaseCpu {
    const a = this.nearest(fromMs);
    const b = this.nearest(toMs);
    const wallSeconds = (b.atMs - a.atMs) / 1000;
    const busySeconds = b.busySeconds - a.busySeconds;
    return {
      wallSeconds,
      busySeconds,
      processSeconds: b.processSeconds.map((s, i) => s - a.processSeconds[i]!),
      utilization: wallSeconds > 0 ? busySeconds / (wallSeconds * os.cpus().length) : 0,
    };
  }

  private nearest(atMs: number): Sample {
    let best = this.samples[0]!;
    for (const s of this.samples) if (Math.abs(s.atMs - atMs) < Math.abs(best.atMs - atMs)) best = s;
    return best;
  }
}
