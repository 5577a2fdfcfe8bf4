// Where Watcher's services are: environment first (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
// DATABASE_URL, ...), then the running dev stack's `.watcher/dev.json`, then defaults.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_NAMESPACE, DEFAULT_TASK_QUEUE } from './contracts/names.js';
import { describeZodError } from './contracts/validation.js';

/** `.watcher/dev.json`: the contract between `watcher dev` and everything that talks to it. */
export const DevStackFileSchema = z.object({
  temporalAddress: z.string(),
  namespace: z.string(),
  uiUrl: z.string(),
  databaseUrl: z.string(),
  taskQueue: z.string(),
  /** The HTTP API of `watcher dev` (no auth: loopback only). */
  apiUrl: z.string().optional(),
  /** Connection variables for the example project's dbt profile. */
  dbtEnv: z.record(z.string(), z.string()).optional(),
  pid: z.number().optional(),
});
export type DevStackFile = z.infer<typeof DevStackFileSchema>;

export function watcherHome(): string {
  return path.resolve(process.env.WATCHER_HOME ?? '.watcher');
}

export function devStackFilePath(): string {
  return path.join(watcherHome(), 'dev.json');
}

/** A dev stack file that is there but cannot be used: the message names the file and what is wrong. */
export class DevStackFileError extends Error {
  override name = 'DevStackFileError';
}

/** The running dev stack's description; undefined when there is none. */
export function readDevStackFile(file = devStackFilePath()): DevStackFile | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new DevStackFileError(`${file} is not valid JSON (${(err as Error).message}): delete it and start \`watcher dev\` again, or set TEMPORAL_ADDRESS`);
  }
  const parsed = DevStackFileSchema.safeParse(json);
  if (!parsed.success) throw new DevStackFileError(`${file} is not a dev stack description: ${describeZodError(parsed.error)}; delete it and start \`watcher dev\` again`);
  return parsed.data;
}

/** Owner-only (0600): it holds the embedded Postgres superuser's password. */
export function writeDevStackFile(contents: DevStackFile, file = devStackFilePath()): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(contents, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600); // the mode above applies only when the file is created
}

export interface WatcherConfig {
  temporalAddress: string;
  namespace: string;
  taskQueue: string;
  databaseUrl?: string;
  uiUrl?: string;
  /** Temporal Cloud API key (TEMPORAL_API_KEY); never logged. */
  apiKey?: string;
  tls: boolean;
  /** Extra environment for dbt (the dev stack's profile variables). */
  dbtEnv: Record<string, string>;
}

export function loadConfig(overrides: Partial<WatcherConfig> = {}): WatcherConfig {
  const env = process.env;
  // The dev file only counts when no address is given explicitly: env means "elsewhere".
  const dev = env.TEMPORAL_ADDRESS || overrides.temporalAddress ? undefined : readDevStackFile();
  const apiKey = env.TEMPORAL_API_KEY || undefined;
  return {
    temporalAddress: overrides.temporalAddress ?? env.TEMPORAL_ADDRESS ?? dev?.temporalAddress ?? 'localhost:7233',
    namespace: overrides.namespace ?? env.TEMPORAL_NAMESPACE ?? dev?.namespace ?? DEFAULT_NAMESPACE,
    taskQueue: overrides.taskQueue ?? env.WATCHER_TASK_QUEUE ?? dev?.taskQueue ?? DEFAULT_TASK_QUEUE,
    databaseUrl: overrides.databaseUrl ?? env.DATABASE_URL ?? dev?.databaseUrl,
    uiUrl: overrides.uiUrl ?? env.TEMPORAL_UI_URL ?? dev?.uiUrl,
    apiKey: overrides.apiKey ?? apiKey,
    tls: overrides.tls ?? (env.TEMPORAL_TLS === 'true' || !!apiKey),
    dbtEnv: overrides.dbtEnv ?? dev?.dbtEnv ?? {},
  };
}

/** Connection options shared by the client and the worker. */
export function connectionOptions(config: WatcherConfig): { address: string; tls?: boolean; apiKey?: string } {
  return { address: config.temporalAddress, ...(config.tls ? { tls: true } : {}), ...(config.apiKey ? { apiKey: config.apiKey } : {}) };
}
