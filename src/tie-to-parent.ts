// Child processes that must not outlive us (dbt writing relations, the dev server holding its
// ports): on Linux they get a signal when this process dies, even by SIGKILL.
// prctl(PR_SET_PDEATHSIG) survives exec; the ppid check closes the race with an early death.
// Done by a tiny Python shim (Node has no prctl); the program itself runs unchanged.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { DBT_SIGTERM_GRACE_MS, DBT_STOP_GRACE_MS } from './contracts/timeouts.js';

/** Exit code of a shim that could not set the death signal: the program was not started. */
export const NOT_TIED_EXIT_CODE = 125;

/**
 * prctl(PR_SET_PDEATHSIG, <signal>) or exit NOT_TIED_EXIT_CODE saying why: a program that would
 * outlive its parent is not started at all (it once went on silently untied).
 */
const SET_DEATH_SIGNAL = (signal: string, program: string) => [
  'def set_death_signal(sig):',
  '    try:',
  '        libc = ctypes.CDLL(None, use_errno=True)',
  '        if libc.prctl(1, int(sig), 0, 0, 0) != 0:',
  '            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))',
  '    except Exception as err:',
  `        sys.stderr.write(f"watcher: cannot tie {${program}} to its parent: prctl(PR_SET_PDEATHSIG) failed: {err}\\n")`,
  `        sys.exit(${NOT_TIED_EXIT_CODE})`,
  `set_death_signal(${signal})`,
];

/** Sets the death signal, then becomes the program (the dev server: any number of SIGTERMs is fine). */
const EXEC_SHIM = [
  'import ctypes, os, signal, sys',
  ...SET_DEATH_SIGNAL('getattr(signal, sys.argv[2])', 'sys.argv[3]'),
  'if os.getppid() != int(sys.argv[1]):',
  '    sys.exit(130)',
  'os.execv(sys.argv[3], sys.argv[3:])',
].join('\n');

/**
 * Stays the program's parent and hands it the signal ONCE. The kernel sends the death signal
 * each time the child is handed from one dying thread of its parent to the next, so a SIGKILLed
 * worker (a dozen threads) gave dbt a dozen SIGINTs: the second interrupted dbt's own shutdown
 * (run_results.json, query cancellation, run summary) and its log no longer said what had passed.
 * The shim ignores the group's SIGINT/SIGTERM (they reach the program directly), waits for it,
 * and exits as it did (same code, or the same signal).
 * A program stuck after that signal (dbt cancelling queries that do not end) is escalated as a
 * live worker would stop it: SIGTERM to the process group `termAfterMs` later, SIGKILL
 * `killAfterMs` after that, so it never goes on writing beside the retried build's dbt.
 * argv: parent pid, signal, termAfterMs, killAfterMs, program, its args.
 */
const SUPERVISE_SHIM = [
  'import ctypes, os, signal, sys',
  'parent, forward = int(sys.argv[1]), getattr(signal, sys.argv[2])',
  'term_after, kill_after, argv = int(sys.argv[3]) / 1000, int(sys.argv[4]) / 1000, sys.argv[5:]',
  'state = {"child": None, "parent_died": False, "terminated": False}',
  'def signal_child(sig):',
  '    # The shim leads its process group (the caller starts it detached): the whole group, so',
  '    # whatever the program started stops too; the shim ignores SIGTERM and dies by SIGKILL last.',
  '    try:',
  '        if os.getpgrp() == os.getpid() and sig != forward:',
  '            os.killpg(os.getpgrp(), sig)',
  '        else:',
  '            os.kill(state["child"], sig)',
  '    except ProcessLookupError:',
  '        pass',
  'def escalate(signum, frame):',
  '    if state["child"] is None:',
  '        return',
  '    if not state["terminated"]:',
  '        state["terminated"] = True',
  '        signal_child(signal.SIGTERM)',
  '        signal.setitimer(signal.ITIMER_REAL, kill_after)',
  '    else:',
  '        signal_child(signal.SIGKILL)',
  'def on_parent_death(signum, frame):',
  '    if state["parent_died"]:',
  '        return',
  '    state["parent_died"] = True',
  '    if state["child"] is not None:',
  '        signal_child(forward)',
  '    signal.setitimer(signal.ITIMER_REAL, term_after)',
  'signal.signal(signal.SIGALRM, escalate)',
  'signal.signal(signal.SIGUSR1, on_parent_death)',
  'signal.signal(signal.SIGINT, lambda s, f: None)',
  'signal.signal(signal.SIGTERM, lambda s, f: None)',
  ...SET_DEATH_SIGNAL('signal.SIGUSR1', 'argv[0]'),
  'if os.getppid() != parent:',
  '    sys.exit(130)',
  'pid = os.fork()',
  'if pid == 0:',
  '    signal.setitimer(signal.ITIMER_REAL, 0)',
  '    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1, signal.SIGALRM):',
  '        signal.signal(sig, signal.SIG_DFL)',
  '    try:',
  '        os.execv(argv[0], argv)',
  '    except OSError as err:',
  '        sys.stderr.write(f"cannot run {argv[0]}: {err}\\n")',
  '        os._exit(127)',
  'state["child"] = pid',
  'if state["parent_died"]:',
  '    signal_child(forward)',
  'while True:',
  '    try:',
  '        _, status = os.waitpid(pid, 0)',
  '        break',
  '    except ChildProcessError:',
  '        sys.exit(1)',
  'state["child"] = None  # gone: nothing left to escalate',
  'code = os.waitstatus_to_exitcode(status)',
  'if code < 0:',
  '    if -code != signal.SIGKILL:  # SIGKILL has no handler to reset (signal() would raise)',
  '        signal.signal(-code, signal.SIG_DFL)',
  '    os.kill(os.getpid(), -code)',
  '    sys.exit(128 - code)',
  'sys.exit(code)',
].join('\n');

/** Why a program that must not outlive this process cannot be tied to it (Linux only). */
export class NotTiedError extends Error {
  override name = 'NotTiedError';
}

let warnedNotLinux = false;

/**
 * The command line that runs `command args` tied to this process: through a Python shim that
 * sets PR_SET_PDEATHSIG (the `python3` beside an absolute `command`, or `options.python`).
 * Where that is not possible (a relative command, no such Python) it is the plain command line,
 * unless `required`: then NotTiedError says why, so a dbt that could outlive a dead worker
 * is never started silently untied. Off Linux (no prctl) it is the plain command line, said once.
 * `once`: the program gets `signal` exactly once when this process dies, then SIGTERM and
 * SIGKILL if it is still there (see SUPERVISE_SHIM); it must then run in its own process group,
 * so that stops reach it and not only the shim.
 */
export function tiedToParent(
  command: string,
  args: readonly string[],
  options: { python?: string; signal?: 'SIGINT' | 'SIGTERM' | 'SIGKILL'; once?: boolean; required?: boolean; termAfterMs?: number; killAfterMs?: number } = {},
): [string, string[]] {
  if (process.platform !== 'linux') {
    if (options.required && !warnedNotLinux) {
      warnedNotLinux = true;
      console.error(`watcher: ${path.basename(command)} is not tied to this process's life (that needs Linux's PR_SET_PDEATHSIG): stop it yourself if this process is killed`);
    }
    return [command, [...args]];
  }
  const python = options.python ?? (path.isAbsolute(command) ? path.join(path.dirname(command), 'python3') : undefined);
  if (python === undefined || !existsSync(python)) {
    if (!options.required) return [command, [...args]];
    const problem = path.isAbsolute(command) ? `there is no ${python} beside it` : `${JSON.stringify(command)} is not an absolute path`;
    throw new NotTiedError(
      `cannot tie ${command} to the worker's life (PR_SET_PDEATHSIG, set by the python3 beside it): ${problem}. ` +
        'Set DBT to the absolute path of a dbt in a Python venv (as `npm run setup` installs it), so a dbt never outlives a dead worker',
    );
  }
  if (!options.once) return [python, ['-c', EXEC_SHIM, String(process.pid), options.signal ?? 'SIGTERM', command, ...args]];
  const termAfterMs = String(options.termAfterMs ?? DBT_STOP_GRACE_MS);
  const killAfterMs = String(options.killAfterMs ?? DBT_SIGTERM_GRACE_MS);
  return [python, ['-c', SUPERVISE_SHIM, String(process.pid), options.signal ?? 'SIGTERM', termAfterMs, killAfterMs, command, ...args]];
}
