// Where Watcher's services are: environment first (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
// DATABASE_URL, ...), then the running dev stack's `.watcher/dev.json`, then defaults.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_NAMESPACE, DEFAULT_TASK_QUEUE } from './contracts/names.js';
import { describeZodError } from './contracts/validation.js';

const problemCheck = (problem: (v: string) => string | undefined) => (v: string, ctx: z.core.$RefinementCtx<string>) => {
  const why = problem(v);
  if (why) ctx.addIssue({ code: 'custom', message: why });
};
/** `.watcher/dev.json`: the contract between `watcher dev` and everything that talks to it. */
export const DevStackFileSchema = z.object({
  temporalAddress: z.string().superRefine(problemCheck(temporalAddressProblem)),
  namespace: z.string().min(1, 'must not be empty'),
  /** '' when the dev server runs without its UI. */
  uiUrl: z.string().superRefine(problemCheck((v) => (v === '' ? undefined : httpUrlProblem(v)))),
  databaseUrl: z.string().superRefine(problemCheck(databaseUrlProblem)),
  taskQueue: z.string().min(1, 'must not be empty'),
  /** The HTTP API of `watcher dev` (no auth: loopback only). */
  apiUrl: z.string().superRefine(problemCheck(httpUrlProblem)).optional(),
  /** Connection variables for the example project's dbt profile. */
  dbtEnv: z.record(z.string(), z.string()).optional(),
  pid: z.number().optional(),
});
export type DevStackFile = z.infer<typeof DevStackFileSchema>;

/** An environment variable's value; an empty (or blank) one counts as unset. */
export function envValue(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value;
}

/** A variable that is set to something Watcher cannot use: the message names it (and, unless secret, the value). */
export class EnvironmentError extends Error {
  override name = 'EnvironmentError';
}

/** A decimal whole number of at least `min` ('1.5', '0x10', '1e3' and 'abc' are refused); `fallback` when unset. */
export function integerFromEnv(name: string, fallback: number, min: number, env: NodeJS.ProcessEnv = process.env): number {
  const value = envValue(name, env);
  if (value === undefined) return fallback;
  const n = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new EnvironmentError(`${name} must be a whole number of ${min} or more, not ${JSON.stringify(value)}`);
  return n;
}

const TRUE = ['true', '1', 'yes', 'on'];
const FALSE = ['false', '0', 'no', 'off'];

/** true/1/yes/on or false/0/no/off (any case); `fallback` when unset; anything else is refused. */
export function booleanFromEnv(name: string, fallback: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  const value = envValue(name, env);
  if (value === undefined) return fallback;
  const word = value.trim().toLowerCase();
  if (TRUE.includes(word)) return true;
  if (FALSE.includes(word)) return false;
  throw new EnvironmentError(`${name} must be true or false (or 1/0, yes/no, on/off), not ${JSON.stringify(value)}`);
}

/** Temporal's own rule for a frontend address: 'hostname' or 'hostname:port' (no scheme). */
const TEMPORAL_ADDRESS = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(:\d{1,5})?$/;
export function temporalAddressProblem(value: string): string | undefined {
  return TEMPORAL_ADDRESS.test(value) ? undefined : "must be 'host' or 'host:port' (e.g. localhost:7233; no scheme)";
}

/** A URL's protocol ('http:'), undefined for text that is not a URL. */
function protocolOf(value: string): string | undefined {
  try {
    return new URL(value).protocol;
  } catch {
    return undefined;
  }
}

/** An http(s) URL, e.g. the Temporal UI's. */
export function httpUrlProblem(value: string): string | undefined {
  const protocol = protocolOf(value);
  return protocol === 'http:' || protocol === 'https:' ? undefined : 'must be an http or https URL';
}

/** A postgres:// URL. The value holds a password: no message shows it. */
export function databaseUrlProblem(value: string): string | undefined {
  const protocol = protocolOf(value);
  if (protocol === undefined) return 'is not a valid URL (its value is secret and not shown)';
  if (protocol !== 'postgres:' && protocol !== 'postgresql:') return 'must be a postgres:// or postgresql:// URL (its value is secret and not shown)';
  return undefined;
}

function checked(name: string, value: string | undefined, problem: (v: string) => string | undefined, secret = false): string | undefined {
  if (value === undefined) return undefined;
  const why = problem(value);
  if (why) throw new EnvironmentError(`${name} ${why}${secret ? '' : `, not ${JSON.stringify(value)}`}`);
  return value;
}

export function watcherHome(): string {
  return path.resolve(envValue('WATCHER_HOME') ?? '.watcher');
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

/**
 * The configuration from `overrides`, the environment and the dev stack file, in that order. An
 * empty variable counts as unset; one set to something unusable throws EnvironmentError naming
 * it (never showing DATABASE_URL's or TEMPORAL_API_KEY's value).
 */
export function loadConfig(overrides: Partial<WatcherConfig> = {}, env: NodeJS.ProcessEnv = process.env): WatcherConfig {
  const get = (name: string) => envValue(name, env);
  const temporalAddress = overrides.temporalAddress ?? checked('TEMPORAL_ADDRESS', get('TEMPORAL_ADDRESS'), temporalAddressProblem);
  // The dev file only counts when no address is given explicitly: env means "elsewhere".
  const dev = temporalAddress ? undefined : readDevStackFile();
  const envApiKey = get('TEMPORAL_API_KEY');
  return {
    temporalAddress: temporalAddress ?? dev?.temporalAddress ?? 'localhost:7233',
    namespace: overrides.namespace ?? get('TEMPORAL_NAMESPACE') ?? dev?.namespace ?? DEFAULT_NAMESPACE,
    taskQueue: overrides.taskQueue ?? get('WATCHER_TASK_QUEUE') ?? dev?.taskQueue ?? DEFAULT_TASK_QUEUE,
    databaseUrl: overrides.databaseUrl ?? checked('DATABASE_URL', get('DATABASE_URL'), databaseUrlProblem, true) ?? dev?.databaseUrl,
    uiUrl: overrides.uiUrl ?? checked('TEMPORAL_UI_URL', get('TEMPORAL_UI_URL'), httpUrlProblem) ?? dev?.uiUrl,
    apiKey: overrides.apiKey ?? envApiKey,
    // An API key means Temporal Cloud: TLS whatever TEMPORAL_TLS says.
    tls: overrides.tls ?? (booleanFromEnv('TEMPORAL_TLS', false, env) || !!envApiKey),
    dbtEnv: overrides.dbtEnv ?? dev?.dbtEnv ?? {},
  };
}

/** Connection options shared by the client and the worker. */
export function connectionOptions(config: WatcherConfig): { address: string; tls?: boolean; apiKey?: string } {
  return { address: config.temporalAddress, ...(config.tls ? { tls: true } : {}), ...(config.apiKey ? { apiKey: config.apiKey } : {}) };
}
