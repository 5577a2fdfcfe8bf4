// One place to install the Temporal SDK runtime of a process: one line per log entry (SDK core
// logs forwarded to the same logger), at a chosen level, and no signal handlers of its own (the
// caller stops workers, so the dev stack's children are stopped too).
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';

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
