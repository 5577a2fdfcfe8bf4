// Runs one dbt subprocess: argument array, its own process group, stdout read line by line
// as dbt flushes it, and a stop that reaches dbt's whole process group.
import { dbtEnvironment } from './environment.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import type { Writable } from 'node:stream';
import { DBT_SIGTERM_GRACE_MS, DBT_STOP_GRACE_MS } from '../contracts/timeouts.js';
import { tiedToParent } from '../tie-to-parent.js';

export interface DbtExit {
  /** dbt's exit code; null when it died of a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last lines dbt wrote to stderr (Python tracebacks, click usage errors). */
  stderrTail: string[];
}

export interface DbtProcess {
  readonly pid: number;
  /** Resolves when dbt has exited and stdout has been read to the end. */
  readonly exited: Promise<DbtExit>;
  /** SIGINT to the group (dbt cancels its queries), then SIGTERM, then SIGKILL. */
  stop(graceMs: number): Promise<DbtExit>;
  /** dbt's stdin, when spawned with `stdin: 'pipe'` (the dbt runner reads its commands there). */
  readonly stdin?: Writable;
}

export class DbtNotFoundError extends Error {
  constructor(readonly bin: string) {
    super(`dbt executable not found: ${bin} (install the toolchain with 'npm run setup', or set DBT to a dbt executable)`);
    this.name = 'DbtNotFoundError';
  }
}

export interface SpawnDbtOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  onStdoutLine: (line: string) => void;
  /** 'pipe' to write to dbt's stdin (default: none). */
  stdin?: 'ignore' | 'pipe';
  /** The dbt arguments the environment is chosen for, when they are not `args` (the dbt runner gets them on stdin). */
  envArgs?: readonly string[];
}

const STDERR_TAIL_LINES = 40;

export function spawnDbt(dbtBin: string, args: readonly string[], options: SpawnDbtOptions): DbtProcess {
  if (path.isAbsolute(dbtBin) && !existsSync(dbtBin)) throw new DbtNotFoundError(dbtBin);
  // dbt gets one SIGINT (it cancels its queries) if the worker dies, so a crashed worker never
  // leaves a dbt writing relations behind a resumed build; one, so its shutdown runs to its end.
  // A dbt stuck in that shutdown gets SIGTERM 10 s later and SIGKILL 5 s after that, as a stop
  // by a live worker would. Required: a dbt that cannot be tied is not started (NotTiedError).
  const [command, argv] = tiedToParent(dbtBin, args, {
    signal: 'SIGINT',
    once: true,
    required: true,
    termAfterMs: DBT_STOP_GRACE_MS,
    killAfterMs: DBT_SIGTERM_GRACE_MS,
  });

  const child: ChildProcess = spawn(command, argv, {
    cwd: options.cwd,
    env: { ...dbtEnvironment(options.env, options.cwd, options.envArgs ?? args), PYTHONUNBUFFERED: '1' },
    stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, so a stop reaches every process dbt started
  });

  const stderrTail: string[] = [];
  const stdoutDone = new Promise<void>((resolve) => {
    const rl = readline.createInterface({ input: child.stdout!, crlfDelay: Infinity });
    rl.on('line', options.onStdoutLine);
    rl.on('close', resolve);
  });
  readline.createInterface({ input: child.stderr!, crlfDelay: Infinity }).on('line', (line) => {
    stderrTail.push(line);
    if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
  });

  let exitedAlready = false;
  const exited = new Promise<DbtExit>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      exitedAlready = true;
      reject(err.code === 'ENOENT' ? new DbtNotFoundError(dbtBin) : err);
    });
    child.once('close', (code, signal) => {
      exitedAlready = true;
      void stdoutDone.then(() => resolve({ code, signal, stderrTail }));
    });
  });
  // Callers may only look at `exited` after stop(); never leave a rejection unobserved.
  exited.catch(() => undefined);

  const pid = child.pid ?? -1;
  const signalGroup = (sig: NodeJS.Signals) => {
    if (exitedAlready || pid <= 0) return;
    try {
      process.kill(-pid, sig);
    } catch {
      // the group is already gone
    }
  };
  const waitFor = (ms: number) => exitedWithin(exited, ms);

  // A runner that exits before it read every command: its stdin's EPIPE is not an error here.
  child.stdin?.on('error', () => undefined);
  return {
    pid,
    exited,
    stdin: child.stdin ?? undefined,
    async stop(graceMs: number) {
      await stopInStages(signalGroup, waitFor, graceMs);
      return exited;
    },
  };
}


/** Whether a process's `exited` settles within `ms` (the timer never holds the worker open). */
export function exitedWithin(exited: Promise<unknown>, ms: number): Promise<boolean> {
  return Promise.race([exited.then(() => true, () => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);
}

/** SIGINT (dbt cancels its queries), then SIGTERM, then SIGKILL; resolves once it is gone or killed. */
async function stopInStages(signal: (sig: NodeJS.Signals) => void, waitFor: (ms: number) => Promise<boolean>, graceMs: number): Promise<void> {
  signal('SIGINT');
  if (await waitFor(graceMs)) return;
  signal('SIGTERM');
  if (await waitFor(DBT_SIGTERM_GRACE_MS)) return;
  signal('SIGKILL');
  await waitFor(DBT_SIGTERM_GRACE_MS);
}

/**
 * Which process a build invocation's dbt was, written next to its logs: a later attempt of the
 * build (after its worker died) finds it, and so does the next build of the same target, and
 * each waits for it to be gone before it reads its log or starts a dbt of its own. The start
 * time tells a live dbt from a reused pid.
 */
export interface DbtProcessRecord {
  pid: number;
  host: string;
  /** Start time in clock ticks since boot (/proc/<pid>/stat field 22). */
  startTicks: string;
  /** The (project, target) it writes to (see targetKeyOf). */
  targetKey: string;
  /** Whether its build held the target's lock (`overlap: allow` builds run beside others). */
  locked: boolean;
}

const PID_FILE = 'dbt.pid';

function startTicksOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')': the
    // state first (a zombie has exited), the start time 20th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

export async function writeDbtProcessRecord(invocationDir: string, pid: number, target: { targetKey: string; locked: boolean }): Promise<void> {
  const startTicks = startTicksOf(pid);
  if (!startTicks) return; // not Linux, or dbt is gone already
  const record: DbtProcessRecord = { pid, host: os.hostname(), startTicks, ...target };
  await writeFile(path.join(invocationDir, PID_FILE), JSON.stringify(record));
}

async function readDbtProcessRecord(invocationDir: string): Promise<DbtProcessRecord | undefined> {
  try {
    return JSON.parse(await readFile(path.join(invocationDir, PID_FILE), 'utf8')) as DbtProcessRecord;
  } catch {
    return undefined;
  }
}

/** Whether the recorded dbt still runs (on this host; a record from elsewhere says no). */
function isAlive(record: DbtProcessRecord): boolean {
  return record.host === os.hostname() && startTicksOf(record.pid) === record.startTicks;
}

/** The pid of the dbt recorded in `invocationDir` while it still runs (on this host), else undefined. */
export function liveRecordedDbt(invocationDir: string): number | undefined {
  try {
    const record = JSON.parse(readFileSync(path.join(invocationDir, PID_FILE), 'utf8')) as DbtProcessRecord;
    return isAlive(record) ? record.pid : undefined;
  } catch {
    return undefined; // no record (yet)
  }
}

/** Give a dbt that already had its SIGINT `graceMs` to end, then SIGINT, SIGTERM, SIGKILL. */
async function stopRecordedDbt(record: DbtProcessRecord, graceMs: number): Promise<void> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-record.pid, sig); // dbt runs in its own process group
    } catch {
      // gone meanwhile
    }
  };
  const waitFor = async (ms: number) => {
    const deadline = Date.now() + ms;
    while (isAlive(record)) {
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 100));
    }
    return true;
  };
  if (!(await waitFor(graceMs))) await stopInStages(signal, waitFor, 0);
}

/**
 * Stop the dbt an earlier attempt left running on this machine, if any (its worker died: dbt got
 * SIGINT then, but may still be cancelling). Returns 'gone' when none is alive here, or
 * 'elsewhere' when it ran on another host (which this worker cannot see).
 */
export async function stopEarlierDbt(invocationDir: string, graceMs: number): Promise<'gone' | 'elsewhere'> {
  const record = await readDbtProcessRecord(invocationDir);
  if (!record) return 'gone';
  if (record.host !== os.hostname()) return 'elsewhere';
  if (isAlive(record)) await stopRecordedDbt(record, graceMs);
  return 'gone';
}

/**
 * Stop every dbt on this machine still writing `targetKey` from another build's invocation
 * (`<buildsDir>/<buildId>/<invocation>/dbt.pid`) that held the target's lock. The caller holds
 * that lock now, so such a dbt has no live build: it outlived a terminated or dead one.
 * Returns what it stopped.
 */
export async function stopOrphanedDbtOfTarget(buildsDir: string, targetKey: string, exceptBuildDir: string, graceMs: number): Promise<number[]> {
  const stopped: number[] = [];
  let builds: string[];
  try {
    builds = await readdir(buildsDir);
  } catch {
    return stopped;
  }
  for (const build of builds) {
    const buildDir = path.join(buildsDir, build);
    if (buildDir === exceptBuildDir) continue;
    let invocations: string[];
    try {
      invocations = await readdir(buildDir);
    } catch {
      continue;
    }
    for (const invocation of invocations) {
      const record = await readDbtProcessRecord(path.join(buildDir, invocation));
      if (!record?.locked || record.targetKey !== targetKey || !isAlive(record)) continue;
      await stopRecordedDbt(record, graceMs);
      stopped.push(record.pid);
    }
  }
  return stopped;
}
