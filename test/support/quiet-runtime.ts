// Test processes: Temporal SDK logs at WARN and above only (replay workers log every state change at INFO).
import { DefaultLogger, Runtime } from '@temporalio/worker';

Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
