// `watcher dev` as users run it: the embedded stack plus a worker in one process. A build
// started with the real `temporal` CLI on the default task queue, the `watcher build` and
// `watcher status` commands, and a clean stop on SIGTERM that leaves no process behind.
import { Client, Connection } from '@temporalio/client';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DevStackFileSchema, type DevStackFile } from '../../src/config.js';
import { freePort } from '../../src/devstack/ports.js';
import { PROJECT_ROOT } from '../../src/toolchain.js';
import { readBuildRunResults, SHOP_PROJECT, stack, uniqueName } from '../support/stack.js';

const run = promisify(execFile);
const WATCHER = path.join(PROJECT_ROOT, 'bin', 'watcher.js');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until<T>(what: string, fn: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('watcher dev', () => {
  let home: string;
  let dev: ChildProcess;
  let output = '';
  let devFile: DevStackFile;
  let client: Client;
  let connection: Connection;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'watcher-dev-'));
    env = { ...process.env, WATCHER_HOME: home };
    delete env.TEMPORAL_ADDRESS;
    const ports = [await freePort(), await freePort(), await freePort()].map(String);
    dev = spawn(process.execPath, [WATCHER, 'dev', '--temporal-port', ports[0]!, '--ui-port', ports[1]!, '--postgres-port', ports[2]!], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    dev.stdout!.on('data', (d) => (output += String(d)));
    dev.stderr!.on('data', (d) => (output += String(d)));
    await until('the dev stack to be up', () => (output.includes('dev stack running') ? true : dev.exitCode !== null ? (() => { throw new Error(output); })() : undefined), 180_000);
    devFile = DevStackFileSchema.parse(JSON.parse(readFileSync(path.join(home, 'dev.json'), 'utf8')));
    connection = await Connection.connect({ address: devFile.temporalAddress });
    client = new Client({ connection, namespace: devFile.namespace });
  });

  afterAll(async () => {
    await connection?.close();
    if (dev && dev.exitCode === null) dev.kill('SIGKILL');
    rmSync(home, { recursive: true, force: true });
  });

  it('describes itself in .watcher/dev.json', () => {
    expect(devFile.taskQueue).toBe('watcher');
    expect(devFile.namespace).toBe('default');
    expect(devFile.uiUrl).toMatch(/^http:\/\/localhost:\d+$/);
    expect(devFile.databaseUrl).toMatch(/^postgres:\/\//);
    // The password is in the file (for tools), never in what it prints.
    expect(output).not.toContain(new URL(devFile.databaseUrl).password || 'no-password');
  });

  it('serves the dashboard without auth on loopback, and prints its address', async () => {
    const dashboard = `${devFile.apiUrl}/ui/builds`;
    expect(output).toContain(`Dashboard:   ${dashboard}`);
    const page = await fetch(dashboard, { signal: AbortSignal.timeout(30_000) });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await page.text()).toContain('<script type="module" src="/ui/assets/app.js">');
    // The bundle: built on this first request, everything in it (no CDN).
    const bundle = await fetch(`${devFile.apiUrl}/ui/assets/app.js`, { signal: AbortSignal.timeout(60_000) });
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toContain('text/javascript');
    expect(await bundle.text()).not.toMatch(/https?:\/\/(cdn|unpkg|jsdelivr)/);
  });

  it('runs a build started with the temporal CLI: one closed consumer per node, equal to run_results.json', async () => {
    const buildId = uniqueName('cli').replace(/_/g, '-');
    const input = { projectDir: SHOP_PROJECT, nodeRetries: 0, vars: { schema: uniqueName('t') } };
    const cli = stack().temporalCli;
    const common = ['--address', devFile.temporalAddress, '--namespace', devFile.namespace];
    await run(cli, ['workflow', 'start', ...common, '--task-queue', 'watcher', '--type', 'dbtBuild', '--workflow-id', `watcher/${buildId}`, '--input', JSON.stringify(input)]);
    await client.workflow.getHandle(`watcher/${buildId}`).result();

    // What a user runs to find a build's nodes.
    let listed: Array<{ execution: { workflowId: string }; type: { name: string }; status: string }> = [];
    await until(
      'visibility to list every consumer',
      () => (listed.filter((w) => w.type.name === 'dbtNode').length >= 15 ? true : undefined),
      0,
    ).catch(() => undefined);
    const deadline = Date.now() + 20_000;
    while (listed.filter((w) => w.type.name === 'dbtNode').length < 15 && Date.now() < deadline) {
      const { stdout } = await run(cli, ['workflow', 'list', ...common, '--query', `WatcherBuildId='${buildId}'`, '-o', 'json']);
      listed = JSON.parse(stdout || '[]');
      await new Promise((r) => setTimeout(r, 300));
    }
    const consumers = listed.filter((w) => w.type.name === 'dbtNode');
    expect(consumers).toHaveLength(15);
    for (const c of consumers) expect(c.status).toBe('WORKFLOW_EXECUTION_STATUS_COMPLETED');

    const runResults = readBuildRunResults(buildId);
    const nodeResults = runResults.results.filter((r) => /^(model|seed|snapshot)\./.test(r.unique_id));
    expect(nodeResults.every((r) => r.status === 'success')).toBe(true);
    for (const r of nodeResults) expect(consumers.map((c) => c.execution.workflowId)).toContain(`watcher/${buildId}/${r.unique_id}`);
  });

  it('`watcher build` prints the per-node table and exits 0 when every node passed, 1 otherwise', async () => {
    const schema = uniqueName('t');
    const green = await run(process.execPath, [WATCHER, 'build', SHOP_PROJECT, '--no-progress', '--build-id', `${schema.replace(/_/g, '-')}-ok`, '--vars', JSON.stringify({ schema })], { env });
    expect(green.stdout).toContain('model.shop.fct_orders');
    expect(green.stdout).toMatch(/15 nodes: success 15/);

    const status = await run(process.execPath, [WATCHER, 'status', `${schema.replace(/_/g, '-')}-ok`], { env });
    expect(status.stdout).toMatch(/succeeded; 15 nodes/);

    // The same build in the metadata database, through `watcher runs`.
    const migrated = await run(process.execPath, [WATCHER, 'migrate'], { env });
    expect(migrated.stdout).toContain('schema is up to date');
    const runs = await run(process.execPath, [WATCHER, 'runs', '--json', 'build', `${schema.replace(/_/g, '-')}-ok`], { env });
    const rows = JSON.parse(runs.stdout) as Array<{ parent_id: number | null; status: string; depth?: number }>;
    expect(rows).toHaveLength(16);
    expect(rows.filter((r) => r.parent_id === null)).toHaveLength(1);
    expect(rows.every((r) => r.status === 'success')).toBe(true);
    const fct = await run(process.execPath, [WATCHER, 'runs', 'recent', 'model.shop.fct_orders'], { env });
    expect(fct.stdout).toMatch(/model\.shop\.fct_orders\s*│\s*success/);

    const failed = await run(process.execPath, [WATCHER, 'build', SHOP_PROJECT, '--no-progress', '--node-retries', '0', '--vars', JSON.stringify({ schema, shop_break_model: true })], { env }).then(
      () => ({ code: 0, stdout: '' }),
      (err: { code: number; stdout: string }) => err,
    );
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/model\.shop\.stg_payments\s*│\s*error/);
  });

  it('stops every child it started on SIGTERM', async () => {
    const temporalPid = Number(readFileSync(path.join(home, 'temporal.pid'), 'utf8'));
    const pgPidFile = path.join(home, 'pg', 'postmaster.pid');
    const postgresPid = existsSync(pgPidFile) ? Number(readFileSync(pgPidFile, 'utf8').split('\n')[0]) : undefined;
    expect(alive(temporalPid)).toBe(true);
    dev.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => dev.once('exit', resolve));
    expect(code).toBe(0);
    expect(alive(temporalPid)).toBe(false);
    if (postgresPid) expect(alive(postgresPid)).toBe(false);
    expect(existsSync(path.join(home, 'dev.json'))).toBe(false);
  });
});
