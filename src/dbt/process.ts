// Runs one dbt subprocess: argument array, its own process group, stdout read line by line
// as dbt flushes it, and a stop that reaches dbt's whole process group.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
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
}

const STDERR_TAIL_LINES = 40;

export function spawnDbt(dbtBin: string, args: readonly string[], options: SpawnDbtOptions): DbtProcess {
  if (path.isAbsolute(dbtBin) && !existsSync(dbtBin)) throw new DbtNotFoundError(dbtBin);
  // dbt gets SIGINT (it cancels its queries) if the worker dies, so a crashed worker never
  // leaves a dbt writing relations behind a resumed build.
  const [command, argv] = tiedToParent(dbtBin, args, { signal: 'SIGINT' });

  const child: ChildProcess = spawn(command, argv, {
    cwd: options.cwd,
    env: { ...options.env, PYTHONUNBUFFERED: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
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
  const waitFor = (ms: number) =>
    Promise.race([exited.then(() => true, () => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);

  return {
    pid,
    exited,
    async stop(graceMs: number) {
      signalGroup('SIGINT');
      if (!(await waitFor(graceMs))) {
        signalGroup('SIGTERM');
        if (!(await waitFor(5_000))) signalGroup('SIGKILL');
      }
      return exited;
    },
  };
}
