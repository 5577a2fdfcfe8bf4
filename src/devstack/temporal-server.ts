// The Temporal dev server (`temporal server start-dev`, from the official CLI), with its Web UI,
// Watcher's search attributes registered, and a SQLite file so a restart keeps its state.
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_DEFINITIONS } from '../contracts/names.js';
import { tiedToParent } from '../tie-to-parent.js';
import { killLeftover, readLogTail, startManagedProcess } from './processes.js';

export interface TemporalDevServer {
  address: string;
  uiUrl?: string;
  namespace: string;
  stop(): Promise<void>;
}

export interface TemporalDevServerOptions {
  cli: string;
  port: number;
  uiPort?: number;
  /** SQLite file; in memory when omitted. */
  dbFilename?: string;
  namespace: string;
  headless?: boolean;
  /** `--dynamic-config-value K=JSON` pairs, e.g. to lower limits in tests. */
  dynamicConfig?: Record<string, unknown>;
  logFile: string;
  pidFile: string;
  /** Python to tie the server's life to ours (Linux). */
  python?: string;
  readyTimeoutMs?: number;
}

/**
 * The SQLite file in WAL mode, synced at checkpoints: in its default rollback journal every
 * transaction waits for an fsync, and a build's consumers started at ~3/s while dbt ran (188 took
 * 58 s at 185 models; 6 s with these). A crash of the server process loses nothing; a power cut
 * may lose the last transactions, acceptable for a dev server (production runs a Temporal cluster).
 */
export const DEV_SQLITE_PRAGMAS = ['journal_mode=wal', 'synchronous=normal'];

export function devServerArgs(options: TemporalDevServerOptions): string[] {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(options.port), '--namespace', options.namespace, '--log-level', 'warn'];
  if (options.headless) args.push('--headless');
  else if (options.uiPort) args.push('--ui-port', String(options.uiPort));
  if (options.dbFilename) {
    args.push('--db-filename', options.dbFilename);
    for (const pragma of DEV_SQLITE_PRAGMAS) args.push('--sqlite-pragma', pragma);
  }
  for (const { name, type } of SEARCH_ATTRIBUTE_DEFINITIONS) args.push('--search-attribute', `${name}=${type}`);
  for (const [key, value] of Object.entries(options.dynamicConfig ?? {})) args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  return args;
}

export async function startTemporalDevServer(options: TemporalDevServerOptions): Promise<TemporalDevServer> {
  await killLeftover(options.pidFile, /temporal/);
  const [command, args] = tiedToParent(options.cli, devServerArgs(options), { python: options.python, signal: 'SIGTERM' });
  const proc = startManagedProcess(command, args, { logFile: options.logFile, pidFile: options.pidFile });
  const address = `127.0.0.1:${options.port}`;
  try {
    await waitUntilReady(address, options.namespace, proc.exited, options.readyTimeoutMs ?? 60_000);
  } catch (err) {
    await proc.stop();
    throw new Error(`the Temporal dev server did not start: ${(err as Error).message}\n${readLogTail(options.logFile)}`);
  }
  return {
    address,
    namespace: options.namespace,
    uiUrl: options.headless || !options.uiPort ? undefined : `http://localhost:${options.uiPort}`,
    stop: () => proc.stop(),
  };
}

/** Ready = the frontend answers and the namespace exists. Bounded, and ends early if the server exits. */
async function waitUntilReady(address: string, namespace: string, exited: Promise<number | null>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let gone: number | null | undefined;
  void exited.then((code) => (gone = code));
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (gone !== undefined) throw new Error(`it exited with code ${gone}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      try {
        await connection.workflowService.describeNamespace({ namespace });
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`not ready after ${timeoutMs} ms: ${String(lastError)}`);
}
