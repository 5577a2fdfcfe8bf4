// Long-running child processes of the dev stack: their own process group, tied to our life
// where the OS allows (Linux), a pid file so a stack killed with SIGKILL can be cleaned up
// next time, and a stop that escalates from SIGTERM to SIGKILL.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

export interface ManagedProcess {
  child: ChildProcess;
  exited: Promise<number | null>;
  stop(timeoutMs?: number): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !alive(pid);
}

/** Kill a leftover process group recorded in `pidFile` whose command line still matches. */
export async function killLeftover(pidFile: string, commandMatch: RegExp): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').trim());
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) {
    rmSync(pidFile, { force: true });
    return;
  }
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    // not Linux: trust the pid file
  }
  if (cmdline && !commandMatch.test(cmdline)) {
    rmSync(pidFile, { force: true });
    return;
  }
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    process.kill(pid, 'SIGTERM');
  }
  if (!(await waitGone(pid, 10_000))) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  rmSync(pidFile, { force: true });
}

export function startManagedProcess(
  command: string,
  args: string[],
  options: { logFile: string; pidFile: string; env?: NodeJS.ProcessEnv },
): ManagedProcess {
  const log = openSync(options.logFile, 'a');
  const child = spawn(command, args, { stdio: ['ignore', log, log], detached: true, env: options.env ?? process.env });
  if (child.pid) writeFileSync(options.pidFile, String(child.pid));
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(null));
  });
  return {
    child,
    exited,
    async stop(timeoutMs = 10_000) {
      const pid = child.pid;
      if (pid && child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-pid, 'SIGTERM');
        } catch {
          // already gone
        }
        const done = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), timeoutMs).unref())]);
        if (!done) {
          try {
            process.kill(-pid, 'SIGKILL');
          } catch {
            // already gone
          }
          await exited;
        }
      }
      rmSync(options.pidFile, { force: true });
    },
  };
}

export function readLogTail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
