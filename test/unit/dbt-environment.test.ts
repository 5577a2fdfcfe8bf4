// dbt's environment is an allow-list: the worker's secrets never reach a project's env_var().
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dbtEnvironment } from '../../src/dbt/environment.js';

const dirs: string[] = [];
function project(profile: string, projectYml = 'name: p\n'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'watcher-env-'));
  dirs.push(dir);
  writeFileSync(path.join(dir, 'profiles.yml'), profile);
  writeFileSync(path.join(dir, 'dbt_project.yml'), projectYml);
  return dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const WORKER_ENV = {
  PATH: '/usr/bin',
  HOME: '/nonexistent-home',
  LC_ALL: 'C.UTF-8',
  DATABASE_URL: 'postgres://watcher:s3cret@db/watcher',
  TEMPORAL_API_KEY: 'key-123',
  WATCHER_ALERT_WEBHOOK_URL: 'https://hooks.example/secret',
  PGPASSWORD: 'metadata-password',
  DBT_ENV_SECRET_TOKEN: 'dbt-secret',
  SHOP_PG_HOST: 'warehouse',
  SHOP_PG_PASSWORD: 'warehouse-password',
  UNRELATED: 'x',
};

describe('dbtEnvironment', () => {
  it("passes the basics, DBT_* and what the profile names; never the worker's secrets", () => {
    const dir = project("p:\n  outputs:\n    dev:\n      host: \"{{ env_var('SHOP_PG_HOST') }}\"\n      password: \"{{ env_var( 'SHOP_PG_PASSWORD', '') }}\"\n");
    const env = dbtEnvironment(WORKER_ENV, dir, ['build']);
    expect(Object.keys(env).sort()).toEqual(['DBT_ENV_SECRET_TOKEN', 'HOME', 'LC_ALL', 'PATH', 'SHOP_PG_HOST', 'SHOP_PG_PASSWORD']);
  });

  it('reads names from dbt_project.yml, a --profiles-dir profile and WATCHER_DBT_ENV', () => {
    const dir = project('p: {}\n', "name: p\nvars:\n  region: \"{{ env_var('UNRELATED') }}\"\n");
    const elsewhere = path.join(dir, 'elsewhere');
    mkdirSync(elsewhere);
    writeFileSync(path.join(elsewhere, 'profiles.yml'), "p:\n  password: \"{{ env_var('PGPASSWORD') }}\"\n");
    const env = dbtEnvironment({ ...WORKER_ENV, WATCHER_DBT_ENV: 'TEMPORAL_API_KEY, ' }, dir, ['build', '--profiles-dir', elsewhere]);
    expect(env.UNRELATED).toBe('x');
    // Named by the profile the build uses: the user chose to hand it to dbt.
    expect(env.PGPASSWORD).toBe('metadata-password');
    expect(env.TEMPORAL_API_KEY).toBe('key-123');
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.WATCHER_ALERT_WEBHOOK_URL).toBeUndefined();
  });

  it('passes nothing the profile does not name when there is no profile at all', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'watcher-env-'));
    dirs.push(dir);
    const env = dbtEnvironment(WORKER_ENV, dir, ['build']);
    expect(env.SHOP_PG_PASSWORD).toBeUndefined();
    expect(env.PATH).toBe('/usr/bin');
  });
});
