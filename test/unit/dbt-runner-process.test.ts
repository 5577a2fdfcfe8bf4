// The dbt runner (one Python process that parses a project once and runs later commands on that
// manifest) against the real dbt of the project's venv: parse and ls need no database. Also
// which dbt executables it can run on, and how the worker's held runners are bounded.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { generateProject } from '../../bench/lib/generate-project.js';
import { parseArgs, RUNNER_STDOUT_FLAGS, streamsEvents } from '../../src/dbt/command.js';
import { DbtRun } from '../../src/dbt/dbt-run.js';
import { DbtRunnerProcess, DbtRunners, pythonOfDbt } from '../../src/dbt/dbt-runner-process.js';
import { InvocationLog } from '../../src/dbt/invocation.js';
import { DbtEventNames, parseDbtLogLine, STREAMED_EVENTS, uniqueIdOfListLine, type DbtEvent } from '../../src/dbt/events.js';
import { dbtBinary } from '../../src/toolchain.js';

const waitOptions = () => ({ signal: new AbortController().signal, stopGraceMs: 1000 });

function project(models: number): { dir: string; paths: { targetPath: string; logPath: string } } {
  const root = mkdtempSync(path.join(os.tmpdir(), 'watcher-dbt-runner-'));
  const { dir } = generateProject(path.join(root, 'project'), { models, testsPerModel: 1, seeds: 1, rows: 10 });
  return { dir, paths: { targetPath: path.join(root, 'target'), logPath: path.join(root, 'logs') } };
}

function listArgv(dir: string, paths: { targetPath: string; logPath: string }): string[] {
  return ['ls', '--quiet', '--no-use-colors', '--output', 'json', '--output-keys', 'unique_id', '--project-dir', dir, '--profiles-dir', dir, '--target-path', paths.targetPath, '--log-path', paths.logPath];
}

/** A streaming command that needs no database: a parse with the log flags build and rerun carry. */
function streamingParseArgv(dir: string, paths: { targetPath: string; logPath: string }): string[] {
  return ['parse', '--log-format', 'json', '--log-level', 'debug', '--no-use-colors', '--project-dir', dir, '--profiles-dir', dir, '--target-path', paths.targetPath, '--log-path', paths.logPath];
}

describe('pythonOfDbt', () => {
  it("is the Python of the venv's dbt", () => {
    const python = pythonOfDbt(dbtBinary());
    expect(python).toMatch(/\/python[0-9.]*$/);
  });

  it('is none for a dbt that is not a Python entry point of dbt, or not there', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'watcher-dbt-runner-bin-'));
    const node = path.join(dir, 'dbt-node');
    writeFileSync(node, `#!${process.execPath}\nconsole.log('hi')\n`);
    const otherPython = path.join(dir, 'not-dbt');
    writeFileSync(otherPython, '#!/usr/bin/python3\nprint("hi")\n');
    chmodSync(node, 0o755);
    expect(pythonOfDbt(node)).toBeUndefined();
    expect(pythonOfDbt(otherPython)).toBeUndefined();
    expect(pythonOfDbt(path.join(dir, 'missing'))).toBeUndefined();
    expect(pythonOfDbt('dbt')).toBeUndefined(); // by name on the PATH: not read
  });
});

describe('DbtRunnerProcess (real dbt)', () => {
  const started: DbtRunnerProcess[] = [];
  afterEach(async () => {
    for (const runner of started.splice(0)) await runner.process.stop(1000);
  });

  function startRunner(dir: string, paths: { targetPath: string; logPath: string }): DbtRunnerProcess {
    const runner = new DbtRunnerProcess({ python: pythonOfDbt(dbtBinary())!, forDir: path.dirname(paths.targetPath), cwd: dir, env: process.env, envArgs: ['--profiles-dir', dir] });
    started.push(runner);
    return runner;
  }

  it('parses once, lists on that manifest, waits, and exits with its last command', async () => {
    const { dir, paths } = project(3);
    const runner = startRunner(dir, paths);
    const common = { dbtBin: dbtBinary(), cwd: dir, env: process.env, paths };
    const flags = { projectDir: dir, profilesDir: dir, fullRefresh: false };

    const parsed = await DbtRun.start({ ...common, args: parseArgs(flags, paths), runner: { process: runner, last: false } }).wait(waitOptions());
    expect(parsed.kind).toBe('ok');

    const listed: string[] = [];
    const onPlainLine = (line: string) => {
      const id = uniqueIdOfListLine(line);
      if (id) listed.push(id);
    };
    const list = await DbtRun.start({ ...common, args: listArgv(dir, paths), onPlainLine, runner: { process: runner, last: false } }).wait(waitOptions());
    expect(list.kind).toBe('ok');
    expect(listed.filter((id) => id.startsWith('model.')).sort()).toEqual(['model.bench.m_0_0', 'model.bench.m_0_1', 'model.bench.m_0_2']);
    expect(listed.filter((id) => id.startsWith('seed.'))).toHaveLength(1);
    expect(listed.filter((id) => id.startsWith('test.'))).toHaveLength(3);

    // Still running between commands; a last command that dbt refuses is exit 2, and the runner ends.
    const last = await DbtRun.start({ ...common, args: ['ls', '--no-such-option'], runner: { process: runner, last: true } }).wait(waitOptions());
    expect(last.kind).toBe('dbt-failed');
    if (last.kind === 'dbt-failed') expect(last.invocation.exit.code).toBe(2);
    expect((await runner.process.exited).code).toBe(2);
  });

  it('reports a failed parse as dbt does, and exits when closed', async () => {
    const { dir, paths } = project(1);
    writeFileSync(path.join(dir, 'models', 'broken.sql'), "select {{ ref('no_such_model') }}\n");
    const runner = startRunner(dir, paths);
    const parsed = await DbtRun.start({ dbtBin: dbtBinary(), cwd: dir, env: process.env, paths, args: parseArgs({ projectDir: dir, profilesDir: dir, fullRefresh: false }, paths), runner: { process: runner, last: false } }).wait(
      waitOptions(),
    );
    expect(parsed.kind).toBe('dbt-failed');
    if (parsed.kind === 'dbt-failed') expect(parsed.message).toContain('no_such_model');
    runner.close();
    expect((await runner.process.exited).code).toBe(2);
  });

  it("streams only the events the worker reads on stdout, and keeps every event in dbt's log file", async () => {
    const { dir, paths } = project(2);
    writeFileSync(path.join(dir, 'models', 'broken.sql'), "select {{ ref('no_such_model') }}\n");
    const runner = startRunner(dir, paths);
    const argv = streamingParseArgv(dir, paths);
    expect(streamsEvents(argv)).toBe(true);
    // Every line the runner printed for the command (the worker filters again, so its events alone could not tell).
    const printed = vi.spyOn(InvocationLog.prototype, 'line');
    const seen: DbtEvent[] = [];
    const plain: string[] = [];
    const run = DbtRun.start({ dbtBin: dbtBinary(), cwd: dir, env: process.env, paths, args: argv, onEvent: (e) => seen.push(e), onPlainLine: (l) => plain.push(l), runner: { process: runner, last: false } });
    const outcome = await run.wait(waitOptions());

    // The parse error still reaches the outcome (an error-level event), with the invocation's id.
    expect(outcome.kind).toBe('dbt-failed');
    if (outcome.kind === 'dbt-failed') expect(outcome.message).toContain('no_such_model');
    const names = new Set<string>(STREAMED_EVENTS.names);
    expect(seen.map((e) => e.name)).toContain(DbtEventNames.version);
    const lines = printed.mock.calls.map(([line]) => line);
    printed.mockRestore();
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.map(parseDbtLogLine).filter((e) => e === null || (!names.has(e.name) && e.level !== 'error'))).toEqual([]);
    expect(seen.length).toBe(lines.length);
    expect(plain).toEqual([]);
    expect(run.invocationId()).toMatch(/^[0-9a-f-]{36}$/);

    // dbt's log file has them all, debug ones included, as JSON lines.
    const logged = readFileSync(path.join(paths.logPath, 'dbt.log'), 'utf8').split('\n').map(parseDbtLogLine).filter((e) => e !== null);
    expect(logged.some((e) => e.level === 'debug' && !names.has(e.name))).toBe(true);
    expect(logged.length).toBeGreaterThan(seen.length);
    runner.close();
    expect((await runner.process.exited).code).toBe(2);
  });

  it('a streaming command whose stdout nobody reads any more still runs to its end (its log file says so)', async () => {
    const { dir, paths } = project(2);
    const script = fileURLToPath(new URL('../../src/dbt/dbt_runner.py', import.meta.url));
    const child = spawn(pythonOfDbt(dbtBinary())!, [script, 'test'], { cwd: dir, stdio: ['pipe', 'pipe', 'ignore'] });
    child.stdout.destroy(); // as when the worker that read it died
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const argv = streamingParseArgv(dir, paths);
    child.stdin.end(`${JSON.stringify({ argv: [...argv, ...RUNNER_STDOUT_FLAGS], stdout_events: STREAMED_EVENTS })}\n`);
    await exited;
    const logged = readFileSync(path.join(paths.logPath, 'dbt.log'), 'utf8').split('\n').map(parseDbtLogLine).filter((e) => e !== null);
    const completed = logged.find((e) => e.name === DbtEventNames.commandCompleted);
    expect(completed?.data.success).toBe(true);
  });

  // Debian's own Python has no dbt: a runner pointed at a wrong Python says what is missing.
  const noDbtPython = '/usr/bin/python3';
  if (!existsSync(noDbtPython)) console.warn(`SKIPPED: ${noDbtPython} is not on this machine, so a runner on a Python without dbt is not tested`);
  it.skipIf(!existsSync(noDbtPython))('on a Python without dbt, fails its first command saying dbt cannot be imported (exit 2)', async () => {
    const { dir, paths } = project(1);
    const runner = new DbtRunnerProcess({ python: noDbtPython, forDir: path.dirname(paths.targetPath), cwd: dir, env: process.env, envArgs: [] });
    started.push(runner);
    const parsed = await DbtRun.start({ dbtBin: dbtBinary(), cwd: dir, env: process.env, paths, args: parseArgs({ projectDir: dir, profilesDir: dir, fullRefresh: false }, paths), runner: { process: runner, last: false } }).wait(
      waitOptions(),
    );
    expect(parsed.kind).toBe('dbt-failed');
    if (parsed.kind === 'dbt-failed') expect(parsed.message).toMatch(/exit code 2\): watcher dbt runner: cannot import dbt in \/usr\/bin\/python3/);
  });

  it('a stop while it runs a command ends that command as canceled', async () => {
    const { dir, paths } = project(40);
    const runner = startRunner(dir, paths);
    const abort = new AbortController();
    const run = DbtRun.start({ dbtBin: dbtBinary(), cwd: dir, env: process.env, paths, args: parseArgs({ projectDir: dir, profilesDir: dir, fullRefresh: false }, paths), runner: { process: runner, last: false } });
    abort.abort('test stops it');
    const outcome = await run.wait({ signal: abort.signal, stopGraceMs: 1000 });
    expect(outcome.kind).toBe('canceled');
    const exit = await runner.process.exited;
    expect(exit.code === null || exit.code !== 0).toBe(true);
  });
});

describe('DbtRunners', () => {
  const fakeRunner = () => ({ end: vi.fn(() => Promise.resolve()) }) as unknown as DbtRunnerProcess & { end: ReturnType<typeof vi.fn> };
  // No deadline within a test, unless the test is about it.
  const timing = { idleMs: 600_000, checkMs: 10, stopGraceMs: 100 };
  const open = () => Promise.resolve(true);

  it('gives a held runner to the build that claims it, once', () => {
    const runners = new DbtRunners('/usr/bin/python3', open, timing);
    const runner = fakeRunner();
    runners.hold('b1', runner);
    expect(runners.claim('b2')).toBeUndefined();
    expect(runners.claim('b1')).toBe(runner);
    expect(runners.claim('b1')).toBeUndefined();
    expect(runner.end).not.toHaveBeenCalled();
  });

  it('ends a runner held again for the same build', () => {
    const runners = new DbtRunners('/usr/bin/python3', open, timing);
    const first = fakeRunner();
    runners.hold('b1', first);
    runners.hold('b1', fakeRunner());
    expect(first.end).toHaveBeenCalledTimes(1);
    runners.claim('b1');
  });

  it('keeps a runner while its build is open or cannot be asked, and ends it once the build closed', async () => {
    let asked = 0;
    let answer: 'open' | 'unknown' | 'closed' = 'open';
    const isBuildOpen = () => {
      asked++;
      return answer === 'unknown' ? Promise.reject(new Error('Temporal is down')) : Promise.resolve(answer === 'open');
    };
    const runners = new DbtRunners('/usr/bin/python3', isBuildOpen, timing);
    const runner = fakeRunner();
    runners.hold('b1', runner);
    await vi.waitFor(() => expect(asked).toBeGreaterThanOrEqual(3), { timeout: 5000, interval: 5 });
    answer = 'unknown';
    const before = asked;
    await vi.waitFor(() => expect(asked).toBeGreaterThanOrEqual(before + 3), { timeout: 5000, interval: 5 });
    expect(runner.end).not.toHaveBeenCalled();
    answer = 'closed';
    await vi.waitFor(() => expect(runner.end).toHaveBeenCalledTimes(1), { timeout: 5000, interval: 5 });
    expect(runners.claim('b1')).toBeUndefined();
  });

  it('ends a runner nobody claims within idleMs, though its build still runs', async () => {
    const runners = new DbtRunners('/usr/bin/python3', open, { ...timing, idleMs: 50 });
    const runner = fakeRunner();
    runners.hold('b1', runner);
    await vi.waitFor(() => expect(runner.end).toHaveBeenCalledTimes(1), { timeout: 5000, interval: 5 });
    expect(runners.claim('b1')).toBeUndefined();
  });
});
