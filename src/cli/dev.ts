// `watcher dev` (the embedded stack plus a worker, until Ctrl-C) and `watcher demo` (the
// example build on that stack, then exit).
import { NativeConnection, type Worker } from '@temporalio/worker';
import path from 'node:path';
import { connectClient } from '../client.js';
import { DevStackFileError, loadConfig, readDevStackFile, watcherHome, writeDevStackFile, type WatcherConfig } from '../config.js';
import { isPortFree, freePort } from '../devstack/ports.js';
import { startDevStack, type DevStack } from '../devstack/stack.js';
import { createPool, type Pool } from '../store/db.js';
import { ensureSearchAttributes } from '../temporal/search-attributes.js';
import { PROJECT_ROOT } from '../toolchain.js';
import { bundleWorkflows, createWorker } from '../worker.js';
import { buildCommand } from './build.js';
import { installMonitoring, installMonitoringOnStack, renderCheckSchedules } from './monitor.js';
import { DEFAULT_API_PORT, startServer, type RunningServer } from '../server/serve.js';

export interface DevPorts {
  temporalPort: number;
  uiPort: number;
  postgresPort: number;
  apiPort: number;
}
export const DEFAULT_DEV_PORTS: DevPorts = { temporalPort: 7233, uiPort: 8233, postgresPort: 5433, apiPort: DEFAULT_API_PORT };

/** Resolves on the first SIGINT or SIGTERM. */
function shutdownRequested(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
}

function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

/** A worker of this process on the stack's task queue, with the example profile's variables. */
async function startStackWorker(stack: DevStack): Promise<{ worker: Worker; running: Promise<void>; connection: NativeConnection; store: Pool }> {
  const [workflowBundle, connection] = await Promise.all([
    bundleWorkflows(),
    NativeConnection.connect({ address: stack.file.temporalAddress }),
  ]);
  await ensureSearchAttributes(connection, stack.file.namespace);
  const store = createPool(stack.file.databaseUrl);
  const worker = await createWorker({
    connection,
    namespace: stack.file.namespace,
    taskQueue: stack.file.taskQueue,
    workflowBundle,
    activityDeps: { dbtEnv: { ...process.env, ...stack.file.dbtEnv }, store, uiUrl: stack.file.uiUrl },
  });
  return { worker, running: worker.run(), connection, store };
}

/** The HTTP API on loopback without auth (the dev stack's), recorded as `apiUrl` in dev.json. */
async function startStackApi(stack: DevStack, port: number, options: { writeDevFile: boolean }): Promise<RunningServer> {
  const config = loadConfig({ temporalAddress: stack.file.temporalAddress, namespace: stack.file.namespace, taskQueue: stack.file.taskQueue, uiUrl: stack.file.uiUrl, databaseUrl: stack.file.databaseUrl });
  const api = await startServer(config, { host: '127.0.0.1', port, noAuth: true, logger: { level: 'warn' } });
  stack.file.apiUrl = api.url;
  if (options.writeDevFile) writeDevStackFile(stack.file, path.join(watcherHome(), 'dev.json'));
  return api;
}

async function stopAll(parts: { api?: RunningServer; worker?: Worker; running?: Promise<void>; connection?: NativeConnection; store?: Pool; stack?: DevStack }) {
  await parts.api?.close().catch((err: unknown) => console.error(`watcher: API stopped with an error: ${String(err)}`));
  if (parts.worker && parts.worker.getState() === 'RUNNING') parts.worker.shutdown();
  await parts.running?.catch((err) => console.error(`watcher: worker stopped with an error: ${String(err)}`));
  await parts.connection?.close().catch(() => undefined);
  await parts.store?.end().catch(() => undefined);
  await parts.stack?.stop();
}

export async function devCommand(ports: DevPorts, options: { worker: boolean }): Promise<number> {
  const stop = shutdownRequested();
  const { apiPort, ...stackPorts } = ports;
  const stack = await startDevStack({ home: watcherHome(), ...stackPorts, writeDevFile: true });
  const parts: Parameters<typeof stopAll>[0] = { stack };
  try {
    parts.api = await startStackApi(stack, apiPort, { writeDevFile: true });
    if (options.worker) Object.assign(parts, await startStackWorker(stack));
    // Monitoring: the checks run themselves on this stack (idempotent: updates the Schedules of an earlier run).
    await installMonitoringOnStack(loadConfig({ temporalAddress: stack.file.temporalAddress, namespace: stack.file.namespace, taskQueue: stack.file.taskQueue }));
    console.error(
      [
        'watcher: dev stack running',
        `  Temporal:    ${stack.file.temporalAddress} (namespace ${stack.file.namespace}, task queue ${stack.file.taskQueue})`,
        `  Temporal UI: ${stack.file.uiUrl}`,
        `  Postgres:    ${redactUrl(stack.file.databaseUrl)}`,
        `  API:         ${parts.api.url} (docs: ${parts.api.url}/docs; no auth, loopback only)`,
        `  Dashboard:   ${parts.api.url}/ui/builds`,
        `  worker:      ${options.worker ? 'running in this process' : 'none (start one with: watcher worker)'}`,
        `  described in ${path.join(watcherHome(), 'dev.json')}; Ctrl-C stops everything`,
      ].join('\n'),
    );
    const reason = await Promise.race([stop, parts.running?.then(() => 'worker stopped' as const) ?? new Promise<never>(() => undefined)]);
    console.error(`watcher: ${reason}: stopping the dev stack`);
    return 0;
  } finally {
    await stopAll(parts);
  }
}

/** A `watcher dev` stack that is up and has a worker polling its task queue. */
async function runningDevStack(): Promise<WatcherConfig | undefined> {
  let dev;
  try {
    dev = readDevStackFile();
  } catch (err) {
    // A broken file of an earlier stack: this one writes a new file anyway.
    if (!(err instanceof DevStackFileError)) throw err;
    console.error(`watcher: ignoring it: ${err.message}`);
    return undefined;
  }
  if (!dev) return undefined;
  const config = loadConfig();
  try {
    const { client, close } = await connectClient({ ...config, temporalAddress: dev.temporalAddress });
    try {
      const tq = await client.workflowService.describeTaskQueue({
        namespace: dev.namespace,
        taskQueue: { name: dev.taskQueue },
        taskQueueType: 1, // workflow task queue
      });
      return (tq.pollers?.length ?? 0) > 0 ? config : undefined;
    } finally {
      await close();
    }
  } catch {
    return undefined;
  }
}

/** Default ports when free, so `watcher dev` later shows the demo's history; else any free ports. */
async function demoPorts(): Promise<DevPorts> {
  const ports = { ...DEFAULT_DEV_PORTS };
  for (const key of Object.keys(ports) as Array<keyof DevPorts>) {
    if (!(await isPortFree(ports[key]))) ports[key] = await freePort();
  }
  return ports;
}

export async function demoCommand(): Promise<number> {
  const projectDir = path.join(PROJECT_ROOT, 'examples', 'shop');
  const existing = await runningDevStack();
  const parts: Parameters<typeof stopAll>[0] = {};
  let config = existing;
  try {
    if (!config) {
      console.error('watcher: starting the embedded stack (Postgres, Temporal dev server, worker) ...');
      const { apiPort, ...stackPorts } = await demoPorts();
      const stack = await startDevStack({ home: watcherHome(), ...stackPorts });
      parts.stack = stack;
      parts.api = await startStackApi(stack, apiPort, { writeDevFile: false });
      Object.assign(parts, await startStackWorker(stack));
      config = { ...loadConfig({ temporalAddress: stack.file.temporalAddress, namespace: stack.file.namespace, taskQueue: stack.file.taskQueue, uiUrl: stack.file.uiUrl }) };
    } else {
      console.error(`watcher: using the running dev stack at ${config.temporalAddress}`);
    }
    const apiUrl = parts.api?.url ?? readDevStackFile()?.apiUrl;
    if (apiUrl) console.error(`watcher: API ${apiUrl} (docs: ${apiUrl}/docs); the demo's builds: curl -s ${apiUrl}/builds\nwatcher: dashboard: ${apiUrl}/ui/builds`);
    const { client, close } = await connectClient(config);
    let code: number;
    try {
      code = await buildCommand(client, config, { projectDir }, { progress: true, json: false });
      // Monitoring: the demo ends by installing the check Schedules and showing them.
      console.log(`\ncheck schedules (watcher monitor list; run one now: watcher check freshness):\n${renderCheckSchedules((await installMonitoring(client, { taskQueue: config.taskQueue })).views)}`);
    } finally {
      await close();
    }
    if (parts.stack) {
      console.error(
        `watcher: the demo's stack stops now; its history stays in ${path.join(watcherHome(), 'temporal.db')}.\n` +
          `watcher: run 'npm run dev' to keep the stack (and the UI links above) up; then open the dashboard at http://127.0.0.1:${DEFAULT_API_PORT}/ui/builds`,
      );
    }
    return code;
  } finally {
    await stopAll(parts);
  }
}
