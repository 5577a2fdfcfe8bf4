// What a finished Watcher build's workflows say about its timing: event times of its history, and
// each consumer's start, close and lag (from dbt's completing log line to the consumer's close).
import type { Client } from '@temporalio/client';
import type { NodeOutcome } from '../../src/contracts/messages.js';
import { nodeWorkflowId } from '../../src/contracts/names.js';

/** Epoch ms of a history event. */
export function eventMs(e: { eventTime?: { seconds?: unknown; nanos?: number | null } | null }): number {
  return Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);
}

export interface ConsumerTimes {
  /** Start times (epoch ms), ascending. */
  startsMs: number[];
  lastCloseMs: number;
  lagsMs: number[];
}

/** Every consumer of a closed build, described 50 at a time. */
export async function consumerTimes(client: Client, buildId: string, uniqueIds: string[]): Promise<ConsumerTimes> {
  const startsMs: number[] = [];
  const lagsMs: number[] = [];
  let lastCloseMs = 0;
  for (let i = 0; i < uniqueIds.length; i += 50) {
    await Promise.all(
      uniqueIds.slice(i, i + 50).map(async (uniqueId) => {
        const h = client.workflow.getHandle(nodeWorkflowId(buildId, uniqueId));
        const [outcome, d] = await Promise.all([h.result() as Promise<NodeOutcome>, h.describe()]);
        const closed = d.closeTime?.getTime() ?? 0;
        startsMs.push(d.startTime.getTime());
        lastCloseMs = Math.max(lastCloseMs, closed);
        if (outcome.reportCompletedAtMs) lagsMs.push(closed - outcome.reportCompletedAtMs);
      }),
    );
  }
  startsMs.sort((a, b) => a - b);
  return { startsMs, lastCloseMs, lagsMs };
}
