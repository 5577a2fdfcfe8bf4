// Issue 14 item 8: a dbt that cannot be tied to the worker's life is not started silently
// untied: a relative DBT, no python3 beside it, or a failing prctl each fail loudly, naming why.
// (The escalation SIGINT -> SIGTERM -> SIGKILL after the worker dies: test/integration/tie-to-parent.test.ts.)
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DbtRun } from '../../src/dbt/dbt-run.js';
import { NOT_TIED_EXIT_CODE, NotTiedError, tiedToParent } from '../../src/tie-to-parent.js';
import { VENV_DIR } from '../../src/toolchain.js';

const python = path.join(VENV_DIR, 'bin', 'python3');
const dir = mkdtempSync(path.join(os.tmpdir(), 'watcher-tie-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(cmd: string, argv: string[]): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}

describe.runIf(process.platform === 'linux')('tiedToParent, required (Linux)', () => {
  it('refuses a relative command, saying so', () => {
    expect(() => tiedToParent('dbt', ['build'], { once: true, required: true })).toThrow(NotTiedError);
    expect(() => tiedToParent('dbt', ['build'], { once: true, required: true })).toThrow(/cannot tie dbt to the worker's life .*"dbt" is not an absolute path/);
  });

  it('refuses a command with no python3 beside it, naming the python3 it looked for', () => {
    const bare = path.join(dir, 'bare');
    mkdirSync(bare);
    expect(() => tiedToParent(path.join(bare, 'dbt'), [], { once: true, required: true })).toThrow(`there is no ${path.join(bare, 'python3')} beside it`);
  });

  it('without `required`, still gives the plain command line (the dev server)', () => {
    expect(tiedToParent('temporal', ['server'])).toEqual(['temporal', ['server']]);
  });

  it('DbtRun: a relative DBT is not started; its outcome says why, and nothing ran', async () => {
    const run = DbtRun.start({ dbtBin: 'dbt', args: ['build'], cwd: dir, env: process.env, paths: { targetPath: path.join(dir, 't'), logPath: path.join(dir, 'l') } });
    expect(run.pid).toBeUndefined();
    const outcome = await run.wait({ signal: new AbortController().signal, stopGraceMs: 1000 });
    expect(outcome.kind).toBe('not-found');
    if (outcome.kind === 'not-found') expect(outcome.message).toMatch(/cannot tie dbt to the worker's life/);
  });

  it('a failing prctl stops the shim before the program runs, saying so', async () => {
    const ran = path.join(dir, 'ran.txt');
    const program = path.join(dir, 'program.py');
    writeFileSync(program, `open(${JSON.stringify(ran)}, 'w').write('ran')\n`);
    // NSIG (65) is no signal: prctl(PR_SET_PDEATHSIG, 65) fails with EINVAL.
    for (const once of [false, true]) {
      const [cmd, argv] = tiedToParent(python, [program], { python, signal: 'NSIG' as 'SIGINT', once });
      if (once) {
        // The supervising shim always asks for SIGUSR1: make its prctl fail the same way.
        argv[1] = argv[1]!.replace("set_death_signal(signal.SIGUSR1)", 'set_death_signal(signal.NSIG)');
      }
      const result = await run(cmd, argv);
      expect(result.code, `once: ${once}`).toBe(NOT_TIED_EXIT_CODE);
      expect(result.stderr).toContain('prctl(PR_SET_PDEATHSIG) failed');
      expect(existsSync(ran)).toBe(false);
    }
  });

  it('once: a program killed by SIGKILL is reported killed by SIGKILL, not as exit code 1', async () => {
    const program = path.join(dir, 'killed.py');
    writeFileSync(program, 'import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n');
    const [cmd, argv] = tiedToParent(python, [program], { python, signal: 'SIGINT', once: true, required: true });
    expect(await run(cmd, argv)).toMatchObject({ code: null, signal: 'SIGKILL' });
  });
});
