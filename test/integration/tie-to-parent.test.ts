// A process tied to its parent gets its signal when the parent dies, even by SIGKILL; with
// `once`, exactly one signal (the kernel sends the death signal at every hand-over between the
// dying parent's threads: a SIGKILLed worker with busy threads gave dbt 3-5 SIGINTs).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tiedToParent } from '../../src/tie-to-parent.js';
import { PROJECT_ROOT, VENV_DIR } from '../../src/toolchain.js';
import { waitUntil } from '../faults/support/faults.js';

const python = path.join(VENV_DIR, 'bin', 'python3');
const dir = mkdtempSync(path.join(os.tmpdir(), 'watcher-tie-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A program that writes a line per SIGINT it gets, runs `seconds`, then exits with `code`. */
const CHILD = path.join(dir, 'child.py');
writeFileSync(
  CHILD,
  [
    'import signal, sys, time',
    'out = sys.argv[1]',
    "signal.signal(signal.SIGINT, lambda s, f: open(out, 'a').write('SIGINT\\n'))",
    "open(out, 'a').write('ready\\n')",
    'end = time.time() + float(sys.argv[2])',
    'while time.time() < end:',
    '    time.sleep(0.02)',
    'sys.exit(int(sys.argv[3]))',
  ].join('\n'),
);

/** A program stuck in its shutdown: it notes each SIGINT and SIGTERM and goes on, for `seconds`. */
const STUCK_CHILD = path.join(dir, 'stuck.py');
writeFileSync(
  STUCK_CHILD,
  [
    'import os, signal, sys, time',
    'out = sys.argv[1]',
    "signal.signal(signal.SIGINT, lambda s, f: open(out, 'a').write('SIGINT\\n'))",
    "signal.signal(signal.SIGTERM, lambda s, f: open(out, 'a').write('SIGTERM\\n'))",
    "open(out, 'a').write(f'ready {os.getpid()}\\n')",
    'end = time.time() + float(sys.argv[2])',
    'while time.time() < end:',
    '    time.sleep(0.02)',
  ].join('\n'),
);

/** Whether `pid` is still a live process (a zombie has ended). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** A parent process with busy threads that starts the tied child, then SIGKILLs itself once the child runs. */
function writeParentScript(out: string, child = { program: CHILD, args: [out, '3', '0'], termAfterMs: 10_000, killAfterMs: 5_000 }): string {
  const file = path.join(dir, `parent-${path.basename(out)}.mts`);
  writeFileSync(
    file,
    `
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { tiedToParent } from ${JSON.stringify(path.join(PROJECT_ROOT, 'src', 'tie-to-parent.ts'))};
const [cmd, argv] = tiedToParent(${JSON.stringify(python)}, ${JSON.stringify([child.program, ...child.args])}, { signal: 'SIGINT', once: true, required: true, termAfterMs: ${child.termAfterMs}, killAfterMs: ${child.killAfterMs} });
spawn(cmd, argv, { stdio: 'ignore', detached: true }).unref();
for (let i = 0; i < 6; i++) new Worker('setInterval(() => { let x = 0; for (let j = 0; j < 1e6; j++) x += j; }, 1)', { eval: true });
const poll = setInterval(() => {
  let text = '';
  try { text = readFileSync(${JSON.stringify(out)}, 'utf8'); } catch { return; }
  if (!text.includes('ready')) return;
  clearInterval(poll);
  setTimeout(() => process.kill(process.pid, 'SIGKILL'), 300);
}, 20);
`,
  );
  return file;
}

describe('tiedToParent (Linux)', () => {
  it('once: a child gets exactly one signal when its busy parent is SIGKILLed, five times over', async () => {
    for (let i = 0; i < 5; i++) {
      const out = path.join(dir, `once-${i}.txt`);
      const parent = spawn(process.execPath, ['--import', 'tsx', writeParentScript(out)], { cwd: PROJECT_ROOT, stdio: 'ignore' });
      await new Promise((r) => parent.once('exit', r));
      await waitUntil('the child to get its signal', () => existsSync(out) && readFileSync(out, 'utf8').includes('SIGINT'), 10_000, 50);
      await new Promise((r) => setTimeout(r, 500)); // any further signal would come now
      expect(readFileSync(out, 'utf8').split('\n').filter((l) => l === 'SIGINT'), `kill ${i}`).toHaveLength(1);
    }
  }, 120_000);

  it('once: a child stuck after its SIGINT gets SIGTERM, then SIGKILL, when its parent was SIGKILLed', async () => {
    const out = path.join(dir, 'stuck.txt');
    // Shortened from dbt's 10 s and 5 s (src/dbt/process.ts) so the test is quick.
    const parent = spawn(process.execPath, ['--import', 'tsx', writeParentScript(out, { program: STUCK_CHILD, args: [out, '60'], termAfterMs: 1_000, killAfterMs: 1_000 })], {
      cwd: PROJECT_ROOT,
      stdio: 'ignore',
    });
    await new Promise((r) => parent.once('exit', r));
    const diedAt = Date.now();
    await waitUntil('the child to start', () => existsSync(out) && readFileSync(out, 'utf8').includes('ready'), 10_000, 20);
    const pid = Number(/ready (\d+)/.exec(readFileSync(out, 'utf8'))![1]);
    await waitUntil('the stuck child to be killed', () => !isRunning(pid), 15_000, 50);
    expect(readFileSync(out, 'utf8').split('\n').filter((l) => l.startsWith('SIG'))).toEqual(['SIGINT', 'SIGTERM']);
    // Gone about 2 s after its parent (1 s to SIGTERM, 1 s to SIGKILL), not after its 60 s.
    expect(Date.now() - diedAt).toBeLessThan(10_000);
  }, 60_000);

  it('once: the exit code, and a stop of the process group, pass through the shim', async () => {
    const exitOf = (child: ChildProcess) => new Promise<{ code: number | null; signal: string | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
    const run = (out: string, seconds: string, code: string) => {
      const [cmd, argv] = tiedToParent(python, [CHILD, out, seconds, code], { signal: 'SIGINT', once: true });
      expect(cmd).toBe(python);
      return spawn(cmd, argv, { stdio: 'ignore', detached: true });
    };
    expect(await exitOf(run(path.join(dir, 'code.txt'), '0.2', '3'))).toEqual({ code: 3, signal: null });

    // A group SIGINT reaches the program once (the shim does not pass it on a second time).
    const interrupted = path.join(dir, 'interrupted.txt');
    const child = run(interrupted, '2', '0');
    await waitUntil('the child to start', () => existsSync(interrupted), 10_000, 20);
    process.kill(-child.pid!, 'SIGINT');
    expect(await exitOf(child)).toEqual({ code: 0, signal: null });
    expect(readFileSync(interrupted, 'utf8').split('\n').filter((l) => l === 'SIGINT')).toHaveLength(1);

    const killed = path.join(dir, 'killed.txt');
    const victim = run(killed, '30', '0');
    await waitUntil('the child to start', () => existsSync(killed), 10_000, 20);
    process.kill(-victim.pid!, 'SIGKILL');
    expect(await exitOf(victim)).toEqual({ code: null, signal: 'SIGKILL' });
  }, 60_000);
});
