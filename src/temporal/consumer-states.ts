// What reached each consumer of a build, asked of Temporal: the durable truth a resumed build
// starts from (the build activity's heartbeat checkpoint is throttled and may lag behind it).
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { nodeStateQuery, type DbtNodeResult } from '../contracts/messages.js';
import { nodeWorkflowId } from '../contracts/names.js';

/** A consumer that received the build's report, with the results it got (when known). */
export interface ReceivedReport {
  uniqueId: string;
  /** Absent when a retried consumer's first run left no outcome (the statuses are unknown). */
  node?: DbtNodeResult;
  tests: DbtNodeResult[];
}

/**
 * Asks every consumer (running or closed: Temporal answers queries of closed workflows too)
 * whether the build's report reached it. A consumer not started yet received nothing.
 */
export async function receivedReports(
  client: Client,
  buildId: string,
  uniqueIds: readonly string[],
  options: { concurrency: number; abort?: AbortSignal },
): Promise<ReceivedReport[]> {
  const received: ReceivedReport[] = [];
  let next = 0;
  const ask = async (): Promise<void> => {
    while (next < uniqueIds.length) {
      if (options.abort?.aborted) throw options.abort.reason ?? new Error('aborted');
      const uniqueId = uniqueIds[next++]!;
      try {
        const state = await client.workflow.getHandle(nodeWorkflowId(buildId, uniqueId)).query(nodeStateQuery);
        if (state.fromBuild) received.push({ uniqueId, node: state.fromBuild.node, tests: state.fromBuild.tests });
        else if (state.attempt > 1) received.push({ uniqueId, tests: [] });
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) continue; // its group has not started it yet
        throw err; // Temporal unreachable: the activity's retry asks again
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, uniqueIds.length) }, ask));
  return received;
}
