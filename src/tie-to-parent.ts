// Child processes that must not outlive us (dbt writing relations, the dev server holding its
// ports): on Linux they get a signal when this process dies, even by SIGKILL.
// prctl(PR_SET_PDEATHSIG) survives exec; the ppid check closes the race with an early death.
// Done by a tiny Python shim (Node has no prctl); the program itself runs unchanged.
import { existsSync } from 'node:fs';
import path from 'node:path';

/** Sets the death signal, then becomes the program (the dev server: any number of SIGTERMs is fine). */
const EXEC_SHIM = [
  'import ctypes, os, signal, sys',
  'try:',
  '    ctypes.CDLL(None, use_errno=True).prctl(1, int(getattr(signal, sys.argv[2])), 0, 0, 0)',
  'except Exception:',
  '    pass',
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
 */
const SUPERVISE_SHIM = [
  'import ctypes, os, signal, sys',
  'parent, forward, argv = int(sys.argv[1]), getattr(signal, sys.argv[2]), sys.argv[3:]',
  'state = {"child": None, "parent_died": False}',
  'def on_parent_death(signum, frame):',
  '    if state["parent_died"]:',
  '        return',
  '    state["parent_died"] = True',
  '    if state["child"] is not None:',
  '        try:',
  '            os.kill(state["child"], forward)',
  '        except ProcessLookupError:',
  '            pass',
  'signal.signal(signal.SIGUSR1, on_parent_death)',
  'signal.signal(signal.SIGINT, lambda s, f: None)',
  'signal.signal(signal.SIGTERM, lambda s, f: None)',
  'try:',
  '    ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGUSR1), 0, 0, 0)',
  'except Exception:',
  '    pass',
  'if os.getppid() != parent:',
  '    sys.exit(130)',
  'pid = os.fork()',
  'if pid == 0:',
  '    try:',
  '        os.execv(argv[0], argv)',
  '    except OSError as err:',
  '        sys.stderr.write(f"cannot run {argv[0]}: {err}\\n")',
  '        os._exit(127)',
  'state["child"] = pid',
  'if state["parent_died"]:',
  '    os.kill(pid, forward)',
  'while True:',
  '    try:',
  '        _, status = os.waitpid(pid, 0)',
  '        break',
  '    except ChildProcessError:',
  '        sys.exit(1)',
  'code = os.waitstatus_to_exitcode(status)',
  'if code < 0:',
  '    signal.signal(-code, signal.SIG_DFL)',
  '    os.kill(os.getpid(), -code)',
  '    sys.exit(128 - code)',
  'sys.exit(code)',
].join('\n');

/**
 * The command line that runs `command args` tied to this process, or the plain command line
 * where that is not possible (not Linux, no Python next to the program, a relative command).
 * `once`: the program gets `signal` exactly once when this process dies (see SUPERVISE_SHIM);
 * it must then run in its own process group, so that stops reach it and not only the shim.
 */
export function tiedToParent(
  command: string,
  args: readonly string[],
  options: { python?: string; signal?: 'SIGINT' | 'SIGTERM' | 'SIGKILL'; once?: boolean } = {},
): [string, string[]] {
  const python = options.python ?? (path.isAbsolute(command) ? path.join(path.dirname(command), 'python3') : undefined);
  if (process.platform !== 'linux' || !path.isAbsolute(command) || !python || !existsSync(python)) return [command, [...args]];
  const shim = options.once ? SUPERVISE_SHIM : EXEC_SHIM;
  return [python, ['-c', shim, String(process.pid), options.signal ?? 'SIGTERM', command, ...args]];
}
