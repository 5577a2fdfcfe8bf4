// The Watcher worker: workflows (bundled from workflows/) and activities (bound to their deps)
// on one task queue. Also the entry point behind `watcher worker`.
import { Client, WorkflowNotFoundError } from '@temporalio/client';
import { NativeConnection, Worker, bundleWorkflowCode, type WorkflowBundle, type WorkflowBundleOption } from '@temporalio/worker';
import path from 'node:path';
import v8 from 'node:v8';
import { createActivities, type ActivityDeps } from '../activities/index.js';
import { maxSelectionArgvBytes } from '../activities/run-build.js';
import { connectionOptions, integerFromEnv, type WatcherConfig } from './config.js';
import { buildWorkflowId } from './contracts/names.js';
import { DBT_STOP_GRACE_MS, HEARTBEAT_INTERVAL_MS } from './contracts/timeouts.js';
import { dbtRunnerFromEnv, DbtRunners, pythonOfDbt } from './dbt/dbt-runner-process.js';
import { keepBuildDirsFromEnv } from './dbt/invocation.js';
import { createNotifier, loadNotifierConfig } from './monitoring/notifier.js';
import { createPool } from './store/db.js';
import { dbtDefaultAnomalyRules } from './store/pipelines.js';
import { migrate } from './store/migrate.js';
import { ensureSearchAttributes } from './temporal/search-attributes.js';
import { dbtBinary, PROJECT_ROOT } from './toolchain.js';

export const WORKFLOWS_PATH = path.join(PROJECT_ROOT, 'workflows', 'index.ts');

/** Bundle the workflow code once (webpack); reuse the bundle for every worker in a process. */
export function bundleWorkflows(): Promise<WorkflowBundle> {
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietBundlerLogger });
}

const quietBundlerLogger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => console.error(`watcher: bundler: ${message}`),
  error: (message: string) => console.error(`watcher: bundler: ${message}`),
  log: () => undefined,
};

export interface CreateWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  workflowBundle?: WorkflowBundleOption;
  /** Overrides for activity dependencies (dbt binary, dbt environment, tuning). */
  activityDeps?: Partial<Omit<ActivityDeps, 'client'>>;
  maxConcurrentActivityTaskExecutions?: number;
  /** Workflows kept in memory (the SDK's default, ~600 per GiB of heap, lets 1,000 idle consumers take 2 GiB). */
  maxCachedWorkflows?: number;
}

/**
 * A build's consumers are many and mostly idle (waiting for one signal): a smaller cache keeps
 * the worker's memory flat; an evicted consumer replays its few events when its report comes.
 */
export const DEFAULT_MAX_CACHED_WORKFLOWS = 200;

/**
 * Heap limit (MiB) of the thread that runs workflows. V8 sizes a heap from the machine's memory
 * (4 GiB here) and collects lazily, so thousands of short consumer activations let garbage pile
 * up to over 1 GiB; a limit makes it collect sooner, for some more CPU. Live data stays far below
 * it. A 3,500-node build: worker peak RSS 890 MiB with it, 1,480 MiB without. 0 keeps V8's default.
 */
export const DEFAULT_WORKFLOW_HEAP_MB = 512;

/** The worker's dbt runners (WATCHER_DBT_RUNNER, default on), when its dbt is a Python entry point they can import. */
function dbtRunnersFor(dbtBin: string, client: Client): DbtRunners | undefined {
  if (!dbtRunnerFromEnv()) return undefined;
  const python = pythonOfDbt(dbtBin);
  if (!python) return undefined;
  const isBuildOpen = async (buildId: string) => {
    try {
      return (await client.workflow.getHandle(buildWorkflowId(buildId)).describe()).status.name === 'RUNNING';
    } catch (err) {
      return !(err instanceof WorkflowNotFoundError); // unknown: still open
    }
  };
  return new DbtRunners(python, isBuildOpen);
}

/** V8 reads the flag when an isolate is created: set it before the worker starts its workflow thread. */
function limitWorkflowThreadHeap(): void {
  const mb = workflowHeapMbFromEnv();
  if (mb > 0) v8.setFlagsFromString(`--max-old-space-size=${mb}`);
}

/** WATCHER_WORKFLOW_HEAP_MB: MiB, 0 for V8's default. */
export function workflowHeapMbFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  return integerFromEnv('WATCHER_WORKFLOW_HEAP_MB', DEFAULT_WORKFLOW_HEAP_MB, 0, env);
}

/** WATCHER_MAX_CACHED_WORKFLOWS: at least 1. */
export function maxCachedWorkflowsFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  return integerFromEnv('WATCHER_MAX_CACHED_WORKFLOWS', DEFAULT_MAX_CACHED_WORKFLOWS, 1, env);
}

export async function createWorker(options: CreateWorkerOptions): Promise<Worker> {
  const client = new Client({ connection: options.connection, namespace: options.namespace });
  const dbtBin = options.activityDeps?.dbtBin ?? dbtBinary();
  const deps: ActivityDeps = {
    client,
    dbtBin,
    // WATCHER_DBT_RUNNER is read now, so a value that does not parse stops the worker at start.
    dbtRunners: options.activityDeps && 'dbtRunners' in options.activityDeps ? options.activityDeps.dbtRunners : dbtRunnersFor(dbtBin, client),
    dbtEnv: options.activityDeps?.dbtEnv ?? process.env,
    signalConcurrency: options.activityDeps?.signalConcurrency ?? 32,
    stopGraceMs: options.activityDeps?.stopGraceMs ?? DBT_STOP_GRACE_MS,
    heartbeatIntervalMs: options.activityDeps?.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS,
    // Read now, so a value that does not parse stops the worker at start, naming the variable.
    keepBuildDirs: options.activityDeps?.keepBuildDirs ?? keepBuildDirsFromEnv(),
    store: options.activityDeps?.store,
    uiUrl: options.activityDeps?.uiUrl || undefined,
    maxPlanBytes: options.activityDeps?.maxPlanBytes,
    // Read now, so a value that does not parse stops the worker at start, naming the variable.
    dbtDefaultAnomalyRules: options.activityDeps?.dbtDefaultAnomalyRules ?? dbtDefaultAnomalyRules(),
    // Read now, so a webhook URL that does not parse stops the worker at start, naming the variable.
    notifier: options.activityDeps?.notifier ?? createNotifier(loadNotifierConfig()),
  };
  limitWorkflowThreadHeap();
  // Read by each build's activity: a value that does not parse stops the worker at start instead.
  maxSelectionArgvBytes();
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities(deps),
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivityTaskExecutions ?? 50,
    maxCachedWorkflows: options.maxCachedWorkflows ?? maxCachedWorkflowsFromEnv(),
    // Heartbeats reach the server within 2 s, so a cancel reaches dbt within ~2 s, not 80% of the timeout.
    defaultHeartbeatThrottleInterval: '2 seconds',
    maxHeartbeatThrottleInterval: '5 seconds',
    // Give in-flight activities a moment on shutdown: dbt gets SIGINT and reports what it finished.
    shutdownGraceTime: '15 seconds',
  });
}

/** `watcher worker`: connect, make sure search attributes and the schema exist, run until `stop` aborts. */
export async function runWorker(config: WatcherConfig, options: { workflowBundle?: WorkflowBundleOption; stop?: AbortSignal } = {}): Promise<void> {
  const connection = await NativeConnection.connect(connectionOptions(config));
  const store = config.databaseUrl ? createPool(config.databaseUrl) : undefined;
  const migrationStop = new AbortController();
  let migrating: Promise<void> | undefined;
  try {
    await ensureSearchAttributes(connection, config.namespace);
    // The metadata database being down must not stop builds: poll at once, migrate meanwhile.
    if (config.databaseUrl) migrating = migrateInBackground(config.databaseUrl, migrationStop.signal);
    else console.error('watcher: DATABASE_URL is not set: builds run, but nothing is recorded');
    const worker = await createWorker({
      connection,
      namespace: config.namespace,
      taskQueue: config.taskQueue,
      workflowBundle: options.workflowBundle,
      activityDeps: { dbtEnv: { ...process.env, ...config.dbtEnv }, store, uiUrl: config.uiUrl },
    });
    console.error(`watcher: worker polling task queue '${config.taskQueue}' on ${config.temporalAddress} (namespace ${config.namespace})`);
    const stopWorker = () => worker.shutdown();
    if (options.stop?.aborted) stopWorker();
    options.stop?.addEventListener('abort', stopWorker, { once: true });
    await worker.run();
  } finally {
    migrationStop.abort();
    await migrating;
    await store?.end();
    await connection.close();
  }
}

/** Pause before migration try `n` (1-based): 1 s, doubling, at most 30 s. */
export function migrationRetryMs(n: number): number {
  return Math.min(30_000, 1_000 * 2 ** Math.max(0, n - 1));
}
/** On stop, an attempt still connecting is waited for this long at most, then left behind. */
const MIGRATION_STOP_WAIT_MS = 5_000;

/**
 * Apply the schema, trying again with a growing pause until it succeeds or `stop` aborts. Until
 * then recording fails the way it does with the database down (builds run, records are retried
 * and then given up). Errors are logged without the database URL (it holds a password).
 */
export async function migrateInBackground(databaseUrl: string, stop: AbortSignal, log: (line: string) => void = (line) => console.error(line)): Promise<void> {
  const stopped = new Promise<void>((resolve) => stop.addEventListener('abort', () => resolve(), { once: true }));
  for (let attempt = 1; !stop.aborted; attempt++) {
    const trying = migrate(databaseUrl).then(
      () => undefined,
      (err: unknown) => err,
    );
    const outcome = await Promise.race([trying, stopped.then(() => Promise.race([trying, sleep(MIGRATION_STOP_WAIT_MS).then(() => 'stopped' as const)]))]);
    if (outcome === 'stopped' || stop.aborted) return;
    if (outcome === undefined) {
      if (attempt > 1) log(`watcher: metadata database reachable again: schema migrated (try ${attempt})`);
      return;
    }
    const pause = migrationRetryMs(attempt);
    const message = (outcome instanceof Error ? outcome.message : String(outcome)).split(databaseUrl).join('<DATABASE_URL>');
    log(`watcher: metadata database not ready (${message}): builds run but are not recorded until it is; migrating again in ${pause / 1000} s`);
    await Promise.race([sleep(pause), stopped]);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
