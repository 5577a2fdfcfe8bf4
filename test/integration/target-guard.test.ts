// Issue 14 ("Also"): `npm run demo` ended with the SDK's warning "Activity not found on
// completion". Its cause: the target lock (dbtTargetGuard) watches its build with a
// waitForWorkflowClose activity, and when the build released it, the guard requested the
// activity's cancellation and completed at once, abandoning it. The activity learns of a
// cancellation only at its next heartbeat (up to 5 s later), while the build closes a fraction of
// a second after releasing the lock: the activity then saw the build close and reported its
// completion to a workflow that was gone (the server answers NotFound; the worker warns). Every
// build with a target lock did it. A guard ends only once its activity has ended.
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTestClient, runShopBuild, targetGuardRunOf } from '../support/stack.js';

let client: Client;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ client, close } = await connectTestClient());
});
afterAll(async () => close());

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

async function historyOf(workflowId: string, runId?: string): Promise<HistoryEvent[]> {
  return (await client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
}

/** Activities a history scheduled and that had not ended (completed, failed, canceled, timed out) when the workflow closed. */
function activitiesLeftRunning(events: HistoryEvent[]): string[] {
  const open = new Map<string, string>();
  for (const e of events) {
    const id = String(e.eventId);
    if (e.activityTaskScheduledEventAttributes) open.set(id, e.activityTaskScheduledEventAttributes.activityType?.name ?? '?');
    const ended = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskCanceledEventAttributes ?? e.activityTaskTimedOutEventAttributes;
    if (ended) open.delete(String(ended.scheduledEventId));
  }
  return [...open.values()];
}

describe('the target lock of a build', () => {
  it('ends with no activity left running once the build released it (nothing completes into a closed workflow)', async () => {
    const { buildId, result } = await runShopBuild(client, { select: ['raw_customers'] });
    expect(result.ok).toBe(true);
    const guard = await targetGuardRunOf(client, buildId);
    const events = await historyOf(guard.workflowId, guard.runId);
    expect(events.some((e) => e.workflowExecutionSignaledEventAttributes?.signalName)).toBe(true); // released by the build
    expect(events.at(-1)?.workflowExecutionCompletedEventAttributes).toBeTruthy();
    expect(activitiesLeftRunning(events)).toEqual([]);
  });
});
