// Issue 14 item 12: a queued build whose wait for the target lock keeps failing (the server
// away, long polls dropped) pauses with a bounded backoff between tries, never a hot loop.
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Client } from '@temporalio/client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { waitForWorkflowClose, waitRetryPauseMs } from '../../activities/consumers.js';
import type { ActivityDeps } from '../../activities/deps.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('waitRetryPauseMs', () => {
  it('starts at 1 s, doubles, and never exceeds 30 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 100].map(waitRetryPauseMs)).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  });
});

describe('waitForWorkflowClose', () => {
  it('backs off between failed long polls, and returns once Temporal says the workflow closed', async () => {
    vi.useFakeTimers();
    const pollsAt: number[] = [];
    const failedTries = 8;
    let describes = 0;
    const handle = {
      // Every long poll fails at once, as when the frontend is unreachable.
      result: () => {
        pollsAt.push(Date.now());
        return Promise.reject(new Error('14 UNAVAILABLE: connection refused'));
      },
      // The first describe names the run; then it fails `failedTries` times, then says closed.
      describe: () => {
        describes++;
        if (describes === 1) return Promise.resolve({ runId: 'run-1', status: { name: 'RUNNING' } });
        if (describes <= failedTries + 1) return Promise.reject(new Error('14 UNAVAILABLE: connection refused'));
        return Promise.resolve({ runId: 'run-1', status: { name: 'COMPLETED' } });
      },
    };
    const client = { workflow: { getHandle: () => handle } } as unknown as Client;
    const deps = { client, heartbeatIntervalMs: 5_000 } as ActivityDeps;

    const env = new MockActivityEnvironment();
    let done = false;
    const waiting = env.run(waitForWorkflowClose, deps, { workflowId: 'watcher-target/x' }).then(() => (done = true));
    for (let i = 0; i < 60 && !done; i++) await vi.advanceTimersByTimeAsync(5_000);
    await waiting;

    const gaps = pollsAt.slice(1).map((t, i) => t - pollsAt[i]!);
    expect(gaps).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  });
});
