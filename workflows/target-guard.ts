// `dbtTargetGuard`: held (as a child) by the one build that writes a (project, target). Its
// workflow ID is the lock: a second build cannot start it while it runs. It ends when the
// build releases it. It outlives a build that is terminated (parent-close policy ABANDON):
// then it holds the lock a little longer, until that build's dbt must have been stopped.
import { CancellationScope, condition, proxyActivities, setCurrentDetails, setHandler } from '@temporalio/workflow';
import type { WatcherActivities } from '../activities/index.js';
import { releaseTargetSignal } from '../src/contracts/messages.js';
import { BUILD_WAIT_SECONDS, HEARTBEAT_TIMEOUT_SECONDS } from '../src/contracts/timeouts.js';

export interface TargetGuardInput {
  buildWorkflowId: string;
  projectDir: string;
  target?: string;
  /**
   * How long a build's dbt may outlive the build when the build is terminated: the build
   * activity notices at its next heartbeat, then stops dbt (SIGINT, SIGTERM, SIGKILL).
   */
  drainSeconds: number;
}

const { waitForWorkflowClose } = proxyActivities<WatcherActivities>({
  startToCloseTimeout: BUILD_WAIT_SECONDS * 1000,
  heartbeatTimeout: HEARTBEAT_TIMEOUT_SECONDS * 1000,
  retry: { maximumInterval: '1 minute' },
});

export async function dbtTargetGuard(holder: TargetGuardInput): Promise<void> {
  let released = false;
  setHandler(releaseTargetSignal, () => {
    released = true;
  });
  setCurrentDetails(`Held by \`${holder.buildWorkflowId}\`: ${holder.projectDir} (target ${holder.target ?? 'default'})`);

  let holderClosed = false;
  const watchHolder = new CancellationScope();
  const watching = watchHolder
    .run(() => waitForWorkflowClose({ workflowId: holder.buildWorkflowId }))
    .then(() => (holderClosed = true), () => undefined);
  await condition(() => released || holderClosed);
  watchHolder.cancel();
  await watching;
  if (released) return;

  // The build closed without releasing: it was terminated (or timed out) with dbt perhaps running.
  setCurrentDetails(`\`${holder.buildWorkflowId}\` closed without releasing the target: holding it ${holder.drainSeconds} s more, until its dbt has stopped`);
  await condition(() => released, `${holder.drainSeconds} seconds`);
}
