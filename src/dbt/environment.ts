// What dbt sees of the worker's environment. A project's `env_var()` can read any variable dbt
// is given, and dbt runs whatever project a build names: so dbt gets an allow-list (what a
// Python process, dbt and its adapters need) plus every variable the project's profile and
// dbt_project.yml name, never the worker's own secrets (DATABASE_URL, TEMPORAL_API_KEY, ...).
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Passed when set: the process basics, locale, proxies and certificates, the Python toolchain. */
const ALLOWED_NAMES = new Set([
  'PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LANGUAGE', 'TZ', 'TMPDIR', 'TEMP', 'TMP', 'TERM',
  'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy',
  'SSL_CERT_FILE', 'SSL_CERT_DIR', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE',
  'VIRTUAL_ENV', 'PYTHONPATH', 'PYTHONHOME', 'PYTHONIOENCODING', 'PYTHONUTF8',
]);
/** dbt's own settings and secrets (DBT_*, DBT_ENV_SECRET_*) and the locale. libpq's PG* are not: the worker's own may be among them. */
const ALLOWED_PREFIXES = ['DBT_', 'LC_'];
/** More names to pass, comma-separated: variables a project reads outside its profile. */
export const EXTRA_ENV_VARIABLE = 'WATCHER_DBT_ENV';

const ENV_VAR_CALL = /env_var\(\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]/g;

/** Names read through env_var() in the files dbt reads its connection and project settings from. */
export function envVarsNamedBy(files: readonly string[]): Set<string> {
  const names = new Set<string>();
  for (const file of files) {
    if (!existsSync(file)) continue;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue; // unreadable: dbt will say so itself
    }
    for (const match of text.matchAll(ENV_VAR_CALL)) names.add(match[1]!);
  }
  return names;
}

/** The files dbt may read a profile or project settings from, in dbt's order (all are scanned). */
function settingsFiles(env: NodeJS.ProcessEnv, projectDir: string, args: readonly string[]): string[] {
  const dirs = [projectDir];
  const flag = args.indexOf('--profiles-dir');
  if (flag >= 0 && args[flag + 1]) dirs.push(path.resolve(projectDir, args[flag + 1]!));
  if (env.DBT_PROFILES_DIR) dirs.push(path.resolve(projectDir, env.DBT_PROFILES_DIR));
  dirs.push(path.join(env.HOME ?? os.homedir(), '.dbt'));
  return [path.join(projectDir, 'dbt_project.yml'), ...dirs.map((d) => path.join(d, 'profiles.yml'))];
}

/** The environment for one dbt process run in `projectDir` with `args`. */
export function dbtEnvironment(env: NodeJS.ProcessEnv, projectDir: string, args: readonly string[]): NodeJS.ProcessEnv {
  const named = envVarsNamedBy(settingsFiles(env, projectDir, args));
  for (const name of (env[EXTRA_ENV_VARIABLE] ?? '').split(',')) if (name.trim()) named.add(name.trim());
  const passed: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (ALLOWED_NAMES.has(name) || ALLOWED_PREFIXES.some((p) => name.startsWith(p)) || named.has(name)) passed[name] = value;
  }
  return passed;
}
