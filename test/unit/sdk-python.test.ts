// Which interpreter `watcher setup` builds .venv-sdk from: fake interpreters (shell scripts that
// print a version, or fail like a pyenv shim whose version is not selected) in a private PATH,
// PYENV_ROOT and HOME.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findSdkPython } from '../../src/toolchain.js';

let dir: string;
const saved = { PATH: process.env.PATH, HOME: process.env.HOME, PYENV_ROOT: process.env.PYENV_ROOT, PYTHON_SDK: process.env.PYTHON_SDK };

/** A fake python at `file` that reports `version`, or exits 127 like an unselected pyenv shim. */
function fakePython(file: string, version: string | 'shim'): string {
  mkdirSync(path.dirname(file), { recursive: true });
  const body = version === 'shim' ? 'echo "pyenv: ${0##*/}: command not found" >&2; exit 127' : `echo ${version}`;
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sdk-python-'));
  process.env.PATH = path.join(dir, 'bin');
  process.env.HOME = path.join(dir, 'home');
  delete process.env.PYENV_ROOT;
  delete process.env.PYTHON_SDK;
});
afterEach(() => {
  for (const [key, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('findSdkPython', () => {
  it('skips a pyenv shim that cannot run and takes python3.12 on PATH', () => {
    fakePython(path.join(dir, 'bin', 'python3.13'), 'shim');
    const py312 = fakePython(path.join(dir, 'bin', 'python3.12'), '3.12');
    const found = findSdkPython();
    expect(found.python).toBe(py312);
    expect(found.tried.join('\n')).toMatch(/python3\.13 on PATH: .*exited with code 127: pyenv: python3\.13: command not found/);
  });

  it("finds pyenv's newest 3.13/3.12 under ~/.pyenv without pyenv on PATH", () => {
    const versions = path.join(dir, 'home', '.pyenv', 'versions');
    fakePython(path.join(versions, '3.11.7', 'bin', 'python3'), '3.11');
    fakePython(path.join(versions, '3.12.1', 'bin', 'python3'), '3.12');
    fakePython(path.join(versions, '3.13.0', 'bin', 'python3'), '3.13');
    fakePython(path.join(versions, '3.13.2', 'bin', 'python3'), '3.13');
    expect(findSdkPython().python).toBe(path.join(versions, '3.13.2', 'bin', 'python3'));
  });

  it('uses $PYTHON_SDK alone, and refuses it when older than 3.12', () => {
    fakePython(path.join(dir, 'bin', 'python3.12'), '3.12');
    process.env.PYTHON_SDK = fakePython(path.join(dir, 'old', 'python3'), '3.11');
    const found = findSdkPython();
    expect(found.python).toBeUndefined();
    expect(found.tried).toEqual([`$PYTHON_SDK: ${process.env.PYTHON_SDK} (Python 3.11, too old)`]);
  });

  it('lists every place it looked when there is no Python >= 3.12', () => {
    process.env.PYENV_ROOT = path.join(dir, 'pyenv');
    fakePython(path.join(dir, 'pyenv', 'versions', '3.11.7', 'bin', 'python3'), '3.11');
    const found = findSdkPython();
    expect(found.python).toBeUndefined();
    expect(found.tried).toEqual([
      '$PYTHON_SDK: not set',
      'python3.13 on PATH: not found',
      'python3.12 on PATH: not found',
      `pyenv ${path.join(dir, 'pyenv', 'versions', '3.1{2,3}.*', 'bin', 'python3')}: none installed`,
      `pyenv ${path.join(dir, 'home', '.pyenv', 'versions', '3.1{2,3}.*', 'bin', 'python3')}: none installed`,
    ]);
  });
});
