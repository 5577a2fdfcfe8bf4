// Issue 14 item 9: notifyConsumers heartbeats while it drains (a long drain would outlast the
// 1-minute heartbeat timeout and be retried), and a cancellation ends it as canceled.
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Client } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { notifyConsumers, type NotifyConsumersInput } from '../../activities/consumers.js';
import type { ActivityDeps } from '../../activities/deps.js';

const INPUT: NotifyConsumersInput = { buildId: 'b1', uniqueIds: ['model.shop.a', 'model.shop.b', 'model.shop.c'], status: 'not_run', cause: 'the build failed', retryable: false };

/** A client whose every signal takes `ms` to be accepted (a busy or distant server). */
function slowClient(ms: number): { client: Client; signaled: string[] } {
  const signaled: string[] = [];
  const client = {
    workflow: {
      getHandle: (workflowId: string) => ({
        signal: () => new Promise<void>((resolve) => setTimeout(() => (signaled.push(workflowId), resolve()), ms)),
        describe: () => Promise.resolve({ status: { name: 'RUNNING' } }),
      }),
    },
  } as unknown as Client;
  return { client, signaled };
}

describe('notifyConsumers', () => {
  it('heartbeats while the signals drain', async () => {
    const { client, signaled } = slowClient(300);
    const deps = { client, signalConcurrency: 1, heartbeatIntervalMs: 50 } as ActivityDeps;
    const env = new MockActivityEnvironment();
    let beats = 0;
    env.on('heartbeat', () => beats++);
    expect(await env.run(notifyConsumers, deps, INPUT)).toBe(3);
    expect(signaled).toHaveLength(3);
    // ~900 ms of draining at one beat per 50 ms: many beats (none at all before the fix).
    expect(beats).toBeGreaterThanOrEqual(10);
  });

  it('ends as canceled when canceled during the drain, not as a failure to reach consumers', async () => {
    const { client } = slowClient(300);
    const deps = { client, signalConcurrency: 1, heartbeatIntervalMs: 50 } as ActivityDeps;
    const env = new MockActivityEnvironment();
    const running = env.run(notifyConsumers, deps, INPUT);
    setTimeout(() => env.cancel(), 100);
    const startedAt = Date.now();
    await expect(running).rejects.toBeInstanceOf(CancelledFailure);
    // It stops waiting when canceled, not after the 900 ms the three signals take.
    expect(Date.now() - startedAt).toBeLessThan(600);
  });
});
