// DbtRun against stand-ins for dbt (small executables): how each way of ending is classified,
// what reaches the callbacks, and which run_results.json counts as this invocation's.
import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DbtNodeResult } from '../../src/contracts/messages.js';
import { DbtRun, type DbtRunOptions } from '../../src/dbt/dbt-run.js';
import { VENV_DIR } from '../../src/toolchain.js';

/** A dbt stand-in running `body` (Node), with its own private target dir. */
function fakeDbt(body: string): Omit<DbtRunOptions, 'onEvent' | 'onResult' | 'onPlainLine'> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'watcher-dbt-run-'));
  const dbtBin = path.join(dir, 'fake-dbt');
  writeFileSync(dbtBin, `#!${process.execPath}\n${body}\n`);
  chmodSync(dbtBin, 0o755);
  // As in a venv: the python3 beside dbt ties it to this process's life (required on Linux).
  symlinkSync(path.join(VENV_DIR, 'bin', 'python3'), path.join(dir, 'python3'));
  const paths = { targetPath: path.join(dir, 'target'), logPath: path.join(dir, 'logs') };
  mkdirSync(paths.targetPath);
  return { dbtBin, args: ['build'], cwd: dir, env: process.env, paths };
}

const waitOptions = () => ({ signal: new AbortController().signal, stopGraceMs: 1000 });

function nodeFinished(uniqueId: string, status: string): string {
  return JSON.stringify({
    info: { name: 'NodeFinished', code: 'Q025', level: 'debug', msg: '', invocation_id: 'inv-1', ts: '2024-01-01T00:00:01Z' },
    data: { node_info: { unique_id: uniqueId, resource_type: 'model' }, run_result: { status } },
  });
}

describe('DbtRun', () => {
  it.each([
    [0, 'ok'],
    [1, 'nodes-failed'],
    [2, 'dbt-failed'],
    [3, 'dbt-failed'],
  ])('classifies exit code %i as %s', async (code, kind) => {
    const run = DbtRun.start(fakeDbt(`console.log('said ${code}'); process.exit(${code});`));
    const outcome = await run.wait(waitOptions());
    expect(outcome.kind).toBe(kind);
    if (outcome.kind === 'nodes-failed' || outcome.kind === 'dbt-failed') expect(outcome.message).toBe(`dbt failed (exit code ${code}): said ${code}`);
  });

  it('classifies a death by signal as crashed', async () => {
    const outcome = await DbtRun.start(fakeDbt(`process.kill(process.pid, 'SIGKILL');`)).wait(waitOptions());
    expect(outcome.kind).toBe('crashed');
    if (outcome.kind === 'crashed') expect(outcome.message).toContain('signal SIGKILL');
  });

  it('reports a missing executable as not-found, without a process or a heartbeat', async () => {
    const run = DbtRun.start({ ...fakeDbt(''), dbtBin: '/nonexistent/dbt' });
    let beats = 0;
    const outcome = await run.wait({ ...waitOptions(), heartbeat: () => (beats++, () => undefined) });
    expect(outcome.kind).toBe('not-found');
    expect(run.pid).toBeUndefined();
    expect(beats).toBe(0);
  });

  it('stops dbt when the signal aborts, and says canceled with the reason, whatever the exit', async () => {
    const run = DbtRun.start(fakeDbt(`console.log('started'); setTimeout(() => undefined, 60000);`));
    const controller = new AbortController();
    let stopped = 0;
    const waiting = run.wait({ signal: controller.signal, stopGraceMs: 1000, heartbeat: () => () => stopped++ });
    setTimeout(() => controller.abort('stop it'), 100);
    const outcome = await waiting;
    expect(outcome.kind).toBe('canceled');
    if (outcome.kind === 'canceled') expect(outcome.reason).toBe('stop it');
    expect(stopped).toBe(1);
  });

  it('hands events, then their node results, and reads only its own run_results.json', async () => {
    const options = fakeDbt(
      [
        `console.log(${JSON.stringify(nodeFinished('model.p.a', 'success'))});`,
        `const results = { metadata: { invocation_id: 'inv-1' }, results: [{ unique_id: 'model.p.b', status: 'skipped' }] };`,
        `require('node:fs').writeFileSync(${JSON.stringify('target/run_results.json')}, JSON.stringify(results));`,
        `process.exit(1);`,
      ].join('\n'),
    );
    const seen: string[] = [];
    const run = DbtRun.start({
      ...options,
      onEvent: (event) => seen.push(`event ${event.name}`),
      onResult: (result: DbtNodeResult) => seen.push(`result ${result.uniqueId} ${result.status}`),
    });
    const outcome = await run.wait(waitOptions());
    expect(outcome.kind).toBe('nodes-failed');
    expect(seen).toEqual(['event NodeFinished', 'result model.p.a success']);
    expect(run.invocationId()).toBe('inv-1');
    expect((await run.runResults()).map((r) => [r.uniqueId, r.status])).toEqual([['model.p.b', 'skipped']]);
  });
});
