// Where a benchmark's CPU goes, from /proc (Linux): this process (the load generator), the
// server's process, and Postgres (the postmaster's children), plus the machine's idle time.
// Elsewhere every figure is undefined.
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

/** Kernel clock ticks per second: USER_HZ, 100 on every Linux this runs on. */
const TICKS_PER_SECOND = 100;

interface ProcTimes {
  ppid: number;
  /** utime + stime, in ticks. */
  ticks: number;
}

function procTimes(pid: number): ProcTimes | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may hold spaces), from field 3 (state) on.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) };
  } catch {
    return undefined;
  }
}

function childrenTicks(parent: number): Map<number, number> {
  const out = new Map<number, number>();
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return out;
  }
  for (const p of pids) {
    const t = procTimes(Number(p));
    if (t?.ppid === parent) out.set(Number(p), t.ticks);
  }
  return out;
}

/** The machine's idle (and I/O wait) ticks and all its ticks, over all cores. */
function machineTicks(): { idle: number; total: number } | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    return { idle: fields[3]! + fields[4]!, total: fields.slice(0, 8).reduce((a, b) => a + b, 0) };
  } catch {
    return undefined;
  }
}

export interface CpuSample {
  at: number;
  self: NodeJS.CpuUsage;
  server?: number;
  postgres: Map<number, number>;
  machine?: { idle: number; total: number };
}

export interface CpuSplit {
  seconds: number;
  /** CPU-seconds per wall second (1 = one core busy) of each part, and of nothing (idle). */
  loadGenerator: number;
  server?: number;
  postgres?: number;
  /** Everything else busy on the machine (other processes, the kernel's own threads). */
  other?: number;
  idle?: number;
}

export function sampleCpu(serverPid: number | undefined, postmasterPid: number | undefined): CpuSample {
  return {
    at: performance.now(),
    self: process.cpuUsage(),
    server: serverPid === undefined ? undefined : procTimes(serverPid)?.ticks,
    postgres: postmasterPid === undefined ? new Map() : childrenTicks(postmasterPid),
    machine: machineTicks(),
  };
}

/** Between two samples; Postgres counts the backends alive at both (the pool's connections). */
export function cpuSplit(a: CpuSample, b: CpuSample): CpuSplit {
  const seconds = (b.at - a.at) / 1000;
  const self = process.cpuUsage(a.self);
  let pg = 0;
  for (const [pid, ticks] of b.postgres) pg += ticks - (a.postgres.get(pid) ?? ticks);
  const perSecond = (ticks: number) => ticks / TICKS_PER_SECOND / seconds;
  const loadGenerator = (self.user + self.system) / 1e6 / seconds;
  const server = a.server !== undefined && b.server !== undefined ? perSecond(b.server - a.server) : undefined;
  const postgres = b.postgres.size ? perSecond(pg) : undefined;
  if (!a.machine || !b.machine) return { seconds, loadGenerator, server, postgres };
  // /proc/stat counts over all cores: scale its ticks to this run's wall time.
  const cores = ((b.machine.total - a.machine.total) / TICKS_PER_SECOND / seconds);
  const idle = perSecond(b.machine.idle - a.machine.idle);
  const other = Math.max(0, cores - idle - loadGenerator - (server ?? 0) - (postgres ?? 0));
  return { seconds, loadGenerator, server, postgres, other, idle };
}

export const CORES = os.cpus().length;
