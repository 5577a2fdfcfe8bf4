// How close a workflow's history comes to Temporal's per-payload limit (2 MB blobs): the
// largest single event, encoded as the server stores it. Every input, result and signal
// argument is inside one event, so no payload of the workflow is larger than this.
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

export interface LargestEvent {
  bytes: number;
  eventType: string;
  eventId: number;
}

/**
 * Pages of this many events: a page must stay under gRPC's 4 MB message, and a build's history
 * has runs of large events (the plan, group inputs, records: up to ~700 KiB each), so 50 events
 * were once 4.2 MB. Three events under the 1 MiB each a test allows are at most ~3 MiB.
 */
const PAGE_EVENTS = 3;

export async function largestEventOf(client: Client, workflowId: string): Promise<LargestEvent> {
  let largest: LargestEvent = { bytes: 0, eventType: 'none', eventId: 0 };
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await client.workflowService.getWorkflowExecutionHistory({
      namespace: client.options.namespace,
      execution: { workflowId },
      maximumPageSize: PAGE_EVENTS,
      nextPageToken,
    });
    for (const event of page.history?.events ?? []) {
      const bytes = temporal.api.history.v1.HistoryEvent.encode(event).finish().length;
      if (bytes > largest.bytes) {
        const type = event.eventType ?? 0;
        largest = { bytes, eventType: temporal.api.enums.v1.EventType[type] ?? String(type), eventId: Number(event.eventId ?? 0) };
      }
    }
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  return largest;
}
