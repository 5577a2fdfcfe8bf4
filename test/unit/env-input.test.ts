// Bad input in the environment: every numeric, boolean, URL or enum variable Watcher reads, set
// to junk, is refused with a message naming the variable, and the value unless it is secret.
// No message ever shows DATABASE_URL's or TEMPORAL_API_KEY's contents. An empty variable
// counts as unset. (Free-form names and paths, such as TEMPORAL_NAMESPACE, WATCHER_TASK_QUEUE,
// WATCHER_HOME, DBT or PYTHON_SDK, are not checked here: see README "Configuration".)
import { describe, expect, it } from 'vitest';
import { maxSelectionArgvBytes } from '../../activities/run-build.js';
import { EnvironmentError, loadConfig } from '../../src/config.js';
import { dbtRunnerFromEnv } from '../../src/dbt/dbt-runner-process.js';
import { keepBuildDirsFromEnv } from '../../src/dbt/invocation.js';
import { loadNotifierConfig } from '../../src/monitoring/notifier.js';
import { autoCreateAnomalyRules } from '../../src/store/catalog.js';
import { dbtDefaultAnomalyRules } from '../../src/store/pipelines.js';
import { logLevelFromEnv } from '../../src/temporal/runtime.js';
import { maxCachedWorkflowsFromEnv, workflowHeapMbFromEnv } from '../../src/worker.js';

// Secrets present in every row's environment: no error may repeat them.
const DATABASE_SECRET = 'db-pass-9f3k';
const API_KEY = 'api-key-7x2q';
const BASE: NodeJS.ProcessEnv = {
  TEMPORAL_ADDRESS: '127.0.0.1:7233', // set, so no dev stack file is read
  DATABASE_URL: `postgres://watcher:${DATABASE_SECRET}@127.0.0.1:5432/watcher`,
  TEMPORAL_API_KEY: API_KEY,
};

type Reader = (env: NodeJS.ProcessEnv) => unknown;
const config: Reader = (env) => loadConfig({}, env);
const notifier: Reader = (env) => loadNotifierConfig(env, () => '');

/** [variable, junk value, the reader that must refuse it, whether the value is secret]. */
const JUNK: Array<[string, string, Reader, boolean]> = [
  ['TEMPORAL_ADDRESS', 'http://localhost:7233', config, false],
  ['TEMPORAL_ADDRESS', 'localhost:7233/x', config, false],
  ['TEMPORAL_ADDRESS', 'two words', config, false],
  ['TEMPORAL_TLS', 'maybe', config, false],
  ['TEMPORAL_TLS', 'ture', config, false],
  ['TEMPORAL_TLS', '2', config, false],
  ['TEMPORAL_UI_URL', 'nope', config, false],
  ['TEMPORAL_UI_URL', 'ftp://ui.example', config, false],
  ['TEMPORAL_UI_URL', 'localhost:8233', config, false],
  ['DATABASE_URL', `junk-${DATABASE_SECRET}`, config, true],
  ['DATABASE_URL', `postgres://u:${DATABASE_SECRET}@host:notaport/db`, config, true],
  ['DATABASE_URL', `mysql://u:${DATABASE_SECRET}@127.0.0.1/db`, config, true],
  ['WATCHER_MAX_CACHED_WORKFLOWS', 'abc', maxCachedWorkflowsFromEnv, false],
  ['WATCHER_MAX_CACHED_WORKFLOWS', '0', maxCachedWorkflowsFromEnv, false],
  ['WATCHER_MAX_CACHED_WORKFLOWS', '-5', maxCachedWorkflowsFromEnv, false],
  ['WATCHER_MAX_CACHED_WORKFLOWS', '1.5', maxCachedWorkflowsFromEnv, false],
  ['WATCHER_MAX_CACHED_WORKFLOWS', '1e3', maxCachedWorkflowsFromEnv, false],
  ['WATCHER_WORKFLOW_HEAP_MB', 'abc', workflowHeapMbFromEnv, false],
  ['WATCHER_WORKFLOW_HEAP_MB', '-1', workflowHeapMbFromEnv, false],
  ['WATCHER_WORKFLOW_HEAP_MB', '0x10', workflowHeapMbFromEnv, false],
  ['WATCHER_MAX_SELECTION_ARGV_BYTES', 'abc', maxSelectionArgvBytes, false],
  ['WATCHER_MAX_SELECTION_ARGV_BYTES', '0', maxSelectionArgvBytes, false],
  ['WATCHER_MAX_SELECTION_ARGV_BYTES', '-1', maxSelectionArgvBytes, false],
  ['WATCHER_KEEP_BUILD_DIRS', 'abc', keepBuildDirsFromEnv, false],
  ['WATCHER_KEEP_BUILD_DIRS', '0', keepBuildDirsFromEnv, false],
  ['WATCHER_DBT_DEFAULT_ANOMALY_RULES', 'maybe', dbtDefaultAnomalyRules, false],
  ['WATCHER_DBT_RUNNER', 'perhaps', dbtRunnerFromEnv, false],
  ['WATCHER_AUTO_CREATE_ANOMALY_DETECTION_RULES', 'maybe', autoCreateAnomalyRules, false],
  ['WATCHER_AUTO_CREATE_ANOMALY_DETECTION_RULES', 'ture', autoCreateAnomalyRules, false],
  ['WATCHER_LOG_LEVEL', 'loud', logLevelFromEnv, false],
  ['WATCHER_LOG_LEVEL', 'verbose', logLevelFromEnv, false],
  ['WATCHER_ALERT_LOG', 'loud', notifier, false],
  ['WATCHER_SLACK_WEBHOOK_URL', 'not a url hooks-secret', notifier, true],
  ['WATCHER_SLACK_WEBHOOK_URL', 'ftp://hooks.example/hooks-secret', notifier, true],
  ['WATCHER_ALERT_WEBHOOK_URL', 'not a url hooks-secret', notifier, true],
];

function errorOf(read: Reader, env: NodeJS.ProcessEnv): Error {
  try {
    read(env);
  } catch (err) {
    if (err instanceof Error) return err;
    throw err;
  }
  throw new Error(`accepted: ${JSON.stringify(env)}`);
}

describe('environment variables given junk', () => {
  it.each(JUNK)('%s=%j is refused, naming the variable', (variable, value, read, secret) => {
    const err = errorOf(read, { ...BASE, [variable]: value });
    expect(err.message).toContain(variable);
    if (secret) expect(err.message).not.toContain(value.includes('hooks-secret') ? 'hooks-secret' : DATABASE_SECRET);
    else expect(err.message).toContain(JSON.stringify(value));
    expect(err.message).not.toContain(DATABASE_SECRET);
    expect(err.message).not.toContain(API_KEY);
  });

  it('the config errors are EnvironmentErrors (the CLI prints them as one line)', () => {
    expect(errorOf(config, { ...BASE, TEMPORAL_TLS: 'maybe' })).toBeInstanceOf(EnvironmentError);
    expect(errorOf(maxCachedWorkflowsFromEnv, { WATCHER_MAX_CACHED_WORKFLOWS: 'x' })).toBeInstanceOf(EnvironmentError);
  });
});

describe('environment variables given good values', () => {
  it('parses them', () => {
    expect(loadConfig({}, { ...BASE, TEMPORAL_API_KEY: '', TEMPORAL_TLS: 'TRUE' }).tls).toBe(true);
    expect(loadConfig({}, { ...BASE, TEMPORAL_API_KEY: '', TEMPORAL_TLS: '1' }).tls).toBe(true);
    expect(loadConfig({}, { ...BASE, TEMPORAL_API_KEY: '', TEMPORAL_TLS: 'off' }).tls).toBe(false);
    expect(loadConfig({}, { ...BASE, TEMPORAL_TLS: 'false' }).tls).toBe(true); // an API key means TLS
    expect(loadConfig({}, { ...BASE, TEMPORAL_ADDRESS: '[::1]:7233' }).temporalAddress).toBe('[::1]:7233');
    expect(loadConfig({}, { ...BASE, TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233' }).temporalAddress).toBe('ns.acct.tmprl.cloud:7233');
    expect(loadConfig({}, { ...BASE, TEMPORAL_UI_URL: 'https://ui.example/x' }).uiUrl).toBe('https://ui.example/x');
    expect(loadConfig({}, { ...BASE, DATABASE_URL: 'postgresql://h/db' }).databaseUrl).toBe('postgresql://h/db');
    expect(maxCachedWorkflowsFromEnv({ WATCHER_MAX_CACHED_WORKFLOWS: '50' })).toBe(50);
    expect(workflowHeapMbFromEnv({ WATCHER_WORKFLOW_HEAP_MB: '0' })).toBe(0);
    expect(maxSelectionArgvBytes({ WATCHER_MAX_SELECTION_ARGV_BYTES: '1' })).toBe(1);
    expect(autoCreateAnomalyRules({ WATCHER_AUTO_CREATE_ANOMALY_DETECTION_RULES: 'on' })).toBe(true);
    expect(logLevelFromEnv({ WATCHER_LOG_LEVEL: 'debug' })).toBe('DEBUG');
  });

  it('an empty variable counts as unset', () => {
    const empty = loadConfig({}, { TEMPORAL_ADDRESS: '127.0.0.1:7233', TEMPORAL_NAMESPACE: '', WATCHER_TASK_QUEUE: ' ', TEMPORAL_TLS: '', TEMPORAL_UI_URL: '', DATABASE_URL: '' });
    expect(empty).toMatchObject({ namespace: 'default', taskQueue: 'watcher', tls: false, uiUrl: undefined, databaseUrl: undefined });
    expect(maxCachedWorkflowsFromEnv({ WATCHER_MAX_CACHED_WORKFLOWS: '' })).toBe(200);
    expect(workflowHeapMbFromEnv({ WATCHER_WORKFLOW_HEAP_MB: ' ' })).toBe(512);
    expect(logLevelFromEnv({ WATCHER_LOG_LEVEL: '' })).toBe('WARN');
    expect(autoCreateAnomalyRules({})).toBe(false);
  });
});
