// `dbtTargetGuard`: held (as a child) by the one build that writes a (project, target). Its
// workflow ID is the lock: a second build cannot start it while it runs. It ends when the
// build releases it. It outlives a build that is terminated (parent-close policy ABANDON):
// then it holds the lock a little longer, until that build's dbt must have been stopped.
import { ActivityCancellationType, CancellationScope, condition, log, patched, proxyActivities, setCurrentDetails, setHandler, type ActivityOptions } from '@temporalio/workflow';
import type { WatcherActivities } from '../activities/index.js';
import { releaseTargetSignal } from '../src/contracts/messages.js';
import { BUILD_WAIT_SECONDS, HEARTBEAT_TIMEOUT_SECONDS, RECORDING_ATTEMPT_SECONDS } from '../src/contracts/timeouts.js';

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

const WATCH_OPTIONS: ActivityOptions = {
  startToCloseTimeout: BUILD_WAIT_SECONDS * 1000,
  heartbeatTimeout: HEARTBEAT_TIMEOUT_SECONDS * 1000,
  retry: { maximumInterval: '1 minute' },
};
/** The guard's watch before GUARD_WAITS_FOR_WATCH_PATCH: canceled and abandoned (TRY_CANCEL) on release. */
const { waitForWorkflowClose: abandonedWatch } = proxyActivities<WatcherActivities>(WATCH_OPTIONS);
/**
 * The guard's watch: canceled on release, and waited for. The activity learns of its cancellation
 * at its next heartbeat (at most the worker's heartbeat throttle, 5 s, later), or sees the build
 * close first (the build closes right after releasing): either way it has ended when the guard
 * does, so it never reports its end to a closed workflow (the server answered NotFound and the
 * worker warned "Activity not found on completion" after every build).
 */
const { waitForWorkflowClose: awaitedWatch } = proxyActivities<WatcherActivities>({ ...WATCH_OPTIONS, cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED });
/** The patch that makes the guard wait for its watch activity to end before it ends. */
const GUARD_WAITS_FOR_WATCH_PATCH = 'guard-waits-for-watch';

export async function dbtTargetGuard(holder: TargetGuardInput): Promise<void> {
  let released = false;
  setHandler(releaseTargetSignal, () => {
    released = true;
  });
  setCurrentDetails(`Held by \`${holder.buildWorkflowId}\`: ${holder.projectDir} (target ${holder.target ?? 'default'})`);

  let holderClosed = false;
  const waitForWorkflowClose = patched(GUARD_WAITS_FOR_WATCH_PATCH) ? awaitedWatch : abandonedWatch;
  const watchHolder = new CancellationScope();
  const watching = watchHolder
    .run(() => waitForWorkflowClose({ workflowId: holder.buildWorkflowId }))
    .then(() => (holderClosed = true), () => undefined);
  await condition(() => released || holderClosed);
  watchHolder.cancel();
  await watching;
  if (released) return;

  // The build closed without releasing: it was terminated (or timed out) with dbt perhaps running.
  // Its records say `running` and nothing else will end them: end them now, as Temporal saw it.
  // Tried while the lock is held anyway (the drain): a longer Postgres outage must not hold the target.
  const { reconcileClosedBuild } = proxyActivities<WatcherActivities>({
    startToCloseTimeout: RECORDING_ATTEMPT_SECONDS * 1000,
    scheduleToCloseTimeout: holder.drainSeconds * 1000,
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds' },
  });
  const reconciling = patched('reconcile-closed-build')
    ? reconcileClosedBuild({ buildWorkflowId: holder.buildWorkflowId }).then(
        ({ ended, status }) => {
          if (ended) log.info(`${holder.buildWorkflowId} ${status?.toLowerCase() ?? 'closed'}: ended ${ended} executions left running`);
        },
        (err: unknown) => log.warn(`could not end the records of ${holder.buildWorkflowId}: ${err instanceof Error ? err.message : String(err)}`),
      )
    : Promise.resolve();
  setCurrentDetails(`\`${holder.buildWorkflowId}\` closed without releasing the target: holding it ${holder.drainSeconds} s more, until its dbt has stopped`);
  await condition(() => released, `${holder.drainSeconds} seconds`);
  await reconciling;
}
