// The HTTP API on the shared test stack, as the API and dashboard tests use it: a pool, a
// Temporal client, the server on a free loopback port and, when asked for, Chromium. One
// close() stops them in reverse order.
import type { Client } from '@temporalio/client';
import type { Browser } from 'playwright-core';
import { loadConfig } from '../../src/config.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { createPool, type Pool } from '../../src/store/db.js';
import { launchChromium } from './browser.js';
import { connectTestClient, stack } from './stack.js';

export interface StackServer {
  pool: Pool;
  client: Client;
  server: RunningServer;
  /** The server's base URL, e.g. http://127.0.0.1:40123. */
  baseUrl: string;
  /** Set when started with `browser: true`. */
  browser: Browser | undefined;
  /** Browser, server, pool, then the client. */
  close(): Promise<void>;
}

export interface StackServerOptions {
  /** Serve without tokens (loopback only); default: tokens required. */
  noAuth?: boolean;
  /** Launch Chromium too (pass `haveChromium(...)`). */
  browser?: boolean;
}

/** Start it all; on a failure part-way, what was started is stopped before the error is thrown. */
export async function startStackServer(options: StackServerOptions = {}): Promise<StackServer> {
  const s = stack();
  const pool = createPool(s.databaseUrl);
  let closeClient: (() => Promise<void>) | undefined;
  let server: RunningServer | undefined;
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close();
    await server?.close();
    await pool.end();
    await closeClient?.();
  };
  try {
    const connected = await connectTestClient();
    closeClient = connected.close;
    const config = loadConfig({ temporalAddress: s.temporalAddress, namespace: s.namespace, taskQueue: s.taskQueue, uiUrl: s.uiUrl, databaseUrl: s.databaseUrl });
    server = await startServer(config, { host: '127.0.0.1', port: 0, pool, ...(options.noAuth ? { noAuth: true } : {}) });
    if (options.browser) browser = await launchChromium();
    return { pool, client: connected.client, server, baseUrl: server.url, browser, close };
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}
