// `watcher dev`'s embedded stack on one machine, no Docker: embedded Postgres (Watcher's
// metadata DB and the example warehouse) and the Temporal dev server with its Web UI.
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_NAMESPACE, DEFAULT_TASK_QUEUE } from '../contracts/names.js';
import { writeDevStackFile, type DevStackFile } from '../config.js';
import { migrate } from '../store/migrate.js';
import { ensureToolchain, VENV_DIR } from '../toolchain.js';
import { assertPortsFree } from './ports.js';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from './postgres.js';
import { startTemporalDevServer, type TemporalDevServer } from './temporal-server.js';

export interface DevStackOptions {
  home: string;
  temporalPort: number;
  uiPort: number;
  postgresPort: number;
  namespace?: string;
  taskQueue?: string;
  headless?: boolean;
  /** Write `<home>/dev.json` so the CLI and other processes find this stack. */
  writeDevFile?: boolean;
  dynamicConfig?: Record<string, unknown>;
  log?: (line: string) => void;
}

export interface DevStack {
  file: DevStackFile;
  postgres: EmbeddedPostgresHandle;
  temporal: TemporalDevServer;
  stop(): Promise<void>;
}

export const METADATA_DATABASE = 'watcher';
export const EXAMPLE_WAREHOUSE_DATABASE = 'shop';

/** The example project's profile reads these (see examples/shop/profiles.yml). */
export function exampleProfileEnv(pg: EmbeddedPostgresHandle): Record<string, string> {
  return {
    SHOP_PG_HOST: pg.host,
    SHOP_PG_PORT: String(pg.port),
    SHOP_PG_USER: pg.user,
    SHOP_PG_PASSWORD: pg.password,
    SHOP_PG_DATABASE: EXAMPLE_WAREHOUSE_DATABASE,
  };
}

export async function startDevStack(options: DevStackOptions): Promise<DevStack> {
  const log = options.log ?? ((line: string) => console.error(line));
  const tools = ensureToolchain(log);
  mkdirSync(options.home, { recursive: true });
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  await assertPortsFree({
    'Temporal frontend': options.temporalPort,
    ...(options.headless ? {} : { 'Temporal UI': options.uiPort }),
    Postgres: options.postgresPort,
  });

  const [pgResult, temporalResult] = await Promise.allSettled([
    startEmbeddedPostgres({
      dataDir: path.join(options.home, 'pg'),
      port: options.postgresPort,
      databases: [METADATA_DATABASE, EXAMPLE_WAREHOUSE_DATABASE],
      log,
    }),
    startTemporalDevServer({
      cli: tools.temporal,
      port: options.temporalPort,
      uiPort: options.uiPort,
      headless: options.headless,
      dbFilename: path.join(options.home, 'temporal.db'),
      namespace,
      dynamicConfig: options.dynamicConfig,
      logFile: path.join(options.home, 'temporal.log'),
      pidFile: path.join(options.home, 'temporal.pid'),
      python: path.join(VENV_DIR, 'bin', 'python3'),
    }),
  ]);
  if (pgResult.status === 'rejected' || temporalResult.status === 'rejected') {
    // Leave nothing running when half the stack failed.
    if (pgResult.status === 'fulfilled') await pgResult.value.stop();
    if (temporalResult.status === 'fulfilled') await temporalResult.value.stop();
    throw pgResult.status === 'rejected' ? pgResult.reason : (temporalResult as PromiseRejectedResult).reason;
  }
  const postgres = pgResult.value;
  const temporal = temporalResult.value;
  try {
    await migrate(postgres.url(METADATA_DATABASE));
  } catch (err) {
    await Promise.allSettled([temporal.stop(), postgres.stop()]);
    throw err;
  }

  const file: DevStackFile = {
    temporalAddress: temporal.address,
    namespace,
    uiUrl: temporal.uiUrl ?? '',
    databaseUrl: postgres.url(METADATA_DATABASE),
    taskQueue: options.taskQueue ?? DEFAULT_TASK_QUEUE,
    dbtEnv: exampleProfileEnv(postgres),
    pid: process.pid,
  };
  const devFile = path.join(options.home, 'dev.json');
  if (options.writeDevFile) writeDevStackFile(file, devFile);

  let stopped = false;
  return {
    file,
    postgres,
    temporal,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (options.writeDevFile) rmSync(devFile, { force: true });
      await Promise.allSettled([temporal.stop(), postgres.stop()]);
    },
  };
}
