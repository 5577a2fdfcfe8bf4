// One place to install the Temporal SDK runtime of a process: one line per log entry (SDK core
// logs forwarded to the same logger), at a chosen level, and no signal handlers of its own (the
// caller stops workers, so the dev stack's children are stopped too).
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import { EnvironmentError, envValue } from '../config.js';

const LOG_LEVELS: readonly LogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];

/** WATCHER_LOG_LEVEL (any case), WARN when unset; anything else is refused, naming the variable. */
export function logLevelFromEnv(env: NodeJS.ProcessEnv = process.env): LogLevel {
  const value = envValue('WATCHER_LOG_LEVEL', env);
  if (value === undefined) return 'WARN';
  const level = LOG_LEVELS.find((l) => l === value.trim().toUpperCase());
  if (!level) throw new EnvironmentError(`WATCHER_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, not ${JSON.stringify(value)}`);
  return level;
}

export function installRuntime(level: LogLevel = 'WARN', prefix = 'temporal'): void {
  Runtime.install({
    logger: new DefaultLogger(level, ({ level: l, message, meta }) => {
      const where = meta?.workflowId ? ` ${String(meta.workflowId)}` : meta?.activityType ? ` ${String(meta.activityType)}` : '';
      console.error(`${prefix} ${l.toLowerCase()}:${where} ${message}`);
    }),
    telemetryOptions: { logging: { forward: {}, filter: { core: level, other: 'ERROR' } } },
    shutdownSignals: [],
  });
}
