// Issue 14 item 6: "the metadata database is down: builds run as usual" holds from the worker's
// start: `watcher worker` polls at once (dbt runs, nodes end) and migrates in the background, retrying, and its log
// says what is wrong without the database URL (it holds a password).
import { Client, Connection } from '@temporalio/client';
import { createServer, type Server } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { startBuild } from '../../src/client.js';
import { progressQuery } from '../../src/contracts/messages.js';
import { loadConfig } from '../../src/config.js';
import { migrateInBackground, migrationRetryMs, runWorker } from '../../src/worker.js';
import { copyShopProject, stack, uniqueName } from '../support/stack.js';

/** A port where nothing listens: a server bound, its port read, then closed. */
async function closedPort(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const PASSWORD = 'sekret-never-logged';
let unreachableUrl: string;

beforeAll(async () => {
  unreachableUrl = `postgres://watcher:${PASSWORD}@127.0.0.1:${await closedPort()}/watcher`;
});

describe('a worker whose metadata database is down', () => {
  it('starts polling and runs a build while the migration keeps failing', async () => {
    const taskQueue = uniqueName('store_down');
    const config = loadConfig({ temporalAddress: stack().temporalAddress, namespace: stack().namespace, taskQueue, databaseUrl: unreachableUrl, dbtEnv: stack().dbtEnv });
    const logged: string[] = [];
    const originalError = console.error;
    console.error = (...args: unknown[]) => void logged.push(args.map(String).join(' '));
    const stop = new AbortController();
    const worker = runWorker(config, { workflowBundle: { codePath: stack().bundlePath }, stop: stop.signal });
    const connection = await Connection.connect({ address: stack().temporalAddress });
    try {
      const client = new Client({ connection, namespace: stack().namespace });
      const buildId = uniqueName('b').replace(/_/g, '-');
      // overlap 'allow': no target lock, so terminating the build leaves no lock holder behind.
      const input = { projectDir: copyShopProject(), buildId, nodeRetries: 0, overlap: 'allow' as const, select: ['raw_customers'], vars: { schema: uniqueName('t') } };
      const { handle } = await startBuild(client, input, { taskQueue });
      try {
        // The build itself waits for its records (they are retried until the store is back); its
        // node ends without them.
        await expect
          .poll(async () => (await handle.query(progressQuery)).nodes.map((n) => n.status).join(','), { timeout: 120_000, interval: 500 })
          .toBe('success');
      } finally {
        await handle.terminate('test over: its records cannot be written');
      }
    } finally {
      stop.abort();
      await worker;
      console.error = originalError;
      await connection.close();
    }
    const notReady = logged.filter((l) => l.includes('metadata database not ready'));
    expect(notReady.length).toBeGreaterThan(0);
    expect(logged.join('\n')).not.toContain(PASSWORD);
  });
});

describe('migrateInBackground', () => {
  it('retries with a growing, bounded pause and returns promptly when stopped', async () => {
    expect([1, 2, 3, 6, 20].map(migrationRetryMs)).toEqual([1_000, 2_000, 4_000, 30_000, 30_000]);
    const stop = new AbortController();
    const lines: string[] = [];
    const running = migrateInBackground(unreachableUrl, stop.signal, (line) => lines.push(line));
    await expect.poll(() => lines.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
    expect(lines[0]).toMatch(/migrating again in 1 s/);
    expect(lines[1]).toMatch(/migrating again in 2 s/);
    const stopping = Date.now();
    stop.abort();
    await running;
    expect(Date.now() - stopping).toBeLessThan(6_000);
    expect(lines.join('\n')).not.toContain(PASSWORD);
  });
});
