// `dbtTargetGuard`: held (as a child) by the one build that writes a (project, target). Its
// workflow ID is the lock: a second build cannot start it while it runs. It ends when the
// build releases it, and the build's parent-close policy ends it if the build is terminated.
import { condition, setCurrentDetails, setHandler } from '@temporalio/workflow';
import { releaseTargetSignal } from '../src/contracts/messages.js';

export async function dbtTargetGuard(holder: { buildWorkflowId: string; projectDir: string; target?: string }): Promise<void> {
  let released = false;
  setHandler(releaseTargetSignal, () => {
    released = true;
  });
  setCurrentDetails(`Held by \`${holder.buildWorkflowId}\`: ${holder.projectDir} (target ${holder.target ?? 'default'})`);
  await condition(() => released);
}
