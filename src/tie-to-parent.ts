// Child processes that must not outlive us (dbt writing relations, the dev server holding its
// ports): on Linux they get a signal when this process dies, even by SIGKILL.
// prctl(PR_SET_PDEATHSIG) survives exec; the ppid check closes the race with an early death.
// Done by a tiny Python exec shim (Node has no prctl); the program itself runs unchanged.
import { existsSync } from 'node:fs';
import path from 'node:path';

const SHIM = [
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
 * The command line that runs `command args` tied to this process, or the plain command line
 * where that is not possible (not Linux, no Python next to the program, a relative command).
 */
export function tiedToParent(
  command: string,
  args: readonly string[],
  options: { python?: string; signal?: 'SIGINT' | 'SIGTERM' | 'SIGKILL' } = {},
): [string, string[]] {
  const python = options.python ?? (path.isAbsolute(command) ? path.join(path.dirname(command), 'python3') : undefined);
  if (process.platform !== 'linux' || !path.isAbsolute(command) || !python || !existsSync(python)) return [command, [...args]];
  return [python, ['-c', SHIM, String(process.pid), options.signal ?? 'SIGTERM', command, ...args]];
}
