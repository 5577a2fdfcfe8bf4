// Start and stop the HTTP API: bind (loopback unless told otherwise), refuse an open server
// on a public address, and close gracefully (in-flight requests finish, then the pool).
import { Client, Connection } from '@temporalio/client';
import { connectionOptions, type WatcherConfig } from '../config.js';
import { autoCreateAnomalyRules } from '../store/catalog.js';
import { createPool, type Pool } from '../store/db.js';
import { liveTokenCount } from '../store/tokens.js';
import { buildApp, type Api, type AppOptions } from './app.js';
import type { TemporalAccess } from './deps.js';

/** Beside Temporal's 7233 (frontend) and 8233 (Web UI). */
export const DEFAULT_API_PORT = 8300;

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Temporal for the routes: connects on first use, so the API serves metadata while Temporal is away. */
export function lazyTemporal(config: WatcherConfig): TemporalAccess & { close(): Promise<void> } {
  let connecting: Promise<{ connection: Connection; client: Client }> | undefined;
  return {
    namespace: config.namespace,
    taskQueue: config.taskQueue,
    uiUrl: config.uiUrl,
    async client() {
      connecting ??= Connection.connect({ ...connectionOptions(config), connectTimeout: 5_000 })
        .then((connection) => ({ connection, client: new Client({ connection, namespace: config.namespace }) }))
        .catch((err: unknown) => {
          connecting = undefined; // try again on the next request
          throw err;
        });
      return (await connecting).client;
    },
    async close() {
      const c = await connecting?.catch(() => undefined);
      await c?.connection.close();
    },
  };
}

export interface RunningServer {
  app: Api;
  url: string;
  close(): Promise<void>;
}

export interface ServeOptions extends Omit<AppOptions, 'auth'> {
  host: string;
  port: number;
  /** No auth: allowed only on a loopback address (`watcher dev`). */
  noAuth?: boolean;
  /** Use this pool (closed by the caller) instead of opening one. */
  pool?: Pool;
}

export async function startServer(config: WatcherConfig, options: ServeOptions): Promise<RunningServer> {
  if (!config.databaseUrl) throw new Error('no metadata database: set DATABASE_URL, or start `watcher dev`');
  autoCreateAnomalyRules(); // read by POST /pipeline: a value that does not parse stops the server now, naming the variable
  if (options.noAuth && !isLoopback(options.host)) throw new Error(`refusing to serve without auth on ${options.host}: only a loopback address may go without tokens`);
  const ownPool = !options.pool;
  const pool = options.pool ?? createPool(config.databaseUrl, { max: 10 });
  const temporal = lazyTemporal(config);
  try {
    if (!options.noAuth && !isLoopback(options.host) && (await liveTokenCount(pool)) === 0) {
      throw new Error(`refusing to serve on ${options.host} with no API token: create one with \`watcher token create --name <name> --scope read|write|admin\``);
    }
    const app = await buildApp({ pool, temporal }, { ...options, auth: options.noAuth ? 'none' : 'tokens' });
    await app.listen({ host: options.host, port: options.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : options.port;
    const host = options.host.includes(':') ? `[${options.host}]` : options.host;
    return {
      app,
      url: `http://${host}:${port}`,
      async close() {
        await app.close();
        await temporal.close();
        if (ownPool) await pool.end();
      },
    };
  } catch (err) {
    await temporal.close();
    if (ownPool) await pool.end();
    throw err;
  }
}
