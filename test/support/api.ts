// The HTTP API against the real stack for a test file: its own migrated metadata database,
// the shared Temporal dev server, a server on a free loopback port, and tokens on demand.
import { loadConfig } from '../../src/config.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import type { Pool } from '../../src/store/db.js';
import { createToken, type ApiScope } from '../../src/store/tokens.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { stack, uniqueName } from './stack.js';

export interface TestApi {
  url: string;
  db: TestDatabase;
  server: RunningServer;
  /** A new token of this scope. */
  token(scope: ApiScope): Promise<string>;
  /** fetch against the server, JSON in and out, with a bearer token when given. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read response bodies of many shapes
  call(method: string, path: string, options?: { body?: unknown; token?: string; rawBody?: string }): Promise<{ status: number; body: any; headers: Headers }>;
  close(): Promise<void>;
}

export async function startTestApi(options: { auth?: 'tokens' | 'none'; rateLimitPerMinute?: number; databaseUrl?: string } = {}): Promise<TestApi> {
  const db = await createTestDatabase('api');
  const s = stack();
  const config = loadConfig({ temporalAddress: s.temporalAddress, namespace: s.namespace, taskQueue: s.taskQueue, uiUrl: s.uiUrl, databaseUrl: db.url });
  let server: RunningServer;
  try {
    server = await startServer(config, { host: '127.0.0.1', port: 0, noAuth: options.auth === 'none', pool: db.pool, rateLimitPerMinute: options.rateLimitPerMinute, logger: process.env.WATCHER_TEST_API_LOG ? { level: process.env.WATCHER_TEST_API_LOG } : false });
  } catch (err) {
    await db.drop();
    throw err;
  }
  return {
    url: server.url,
    db,
    server,
    async token(scope) {
      return (await createToken(db.pool, uniqueName(`t_${scope}`), scope)).token;
    },
    async call(method, path, { body, token, rawBody } = {}) {
      const headers: Record<string, string> = {};
      if (body !== undefined || rawBody !== undefined) headers['content-type'] = 'application/json';
      if (token) headers.authorization = `Bearer ${token}`;
      const response = await fetch(`${server.url}${path}`, {
        method,
        headers,
        body: rawBody ?? (body !== undefined ? JSON.stringify(body) : undefined),
        signal: AbortSignal.timeout(30_000),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON: keep the text
      }
      return { status: response.status, body: parsed, headers: response.headers };
    },
    async close() {
      await server.close();
      await db.drop();
    },
  };
}

/** The API and dashboard on a free loopback port, without auth, over this pool (the caller closes both). */
export function startLoopbackServer(pool: Pool): Promise<RunningServer> {
  const s = stack();
  const config = loadConfig({ temporalAddress: s.temporalAddress, namespace: s.namespace, taskQueue: s.taskQueue, uiUrl: s.uiUrl, databaseUrl: s.databaseUrl });
  return startServer(config, { host: '127.0.0.1', port: 0, pool, noAuth: true });
}
