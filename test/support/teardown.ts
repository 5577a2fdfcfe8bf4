// Every integration test file's teardown, whatever its outcome: after each test nothing of
// Watcher may still run on the shared stack. A test that failed (or timed out) half-way leaves
// a build holding its target lock, consumers waiting, dbt writing: all of it is stopped here,
// loudly, so the next test never queues behind it. After the file, its project copies go.
import { Client, Connection } from '@temporalio/client';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll, afterEach } from 'vitest';
import { shopProjectCopies, stack } from './stack.js';

const WATCHER_WORKFLOW_TYPES = ['dbtBuild', 'dbtTargetGuard', 'dbtNodeGroup', 'dbtNode', 'dbtBuildAlerts'];
/** A build's post-build workflow (alerts, anomaly detection) ends on its own a moment after the build: it gets this long first. */
const SETTLING_MS = 15_000;

let connection: Connection | undefined;

async function client(): Promise<Client> {
  connection ??= await Connection.connect({ address: stack().temporalAddress });
  return new Client({ connection, namespace: stack().namespace });
}

/** dbt processes working in this file's project copies (their command lines carry the path). */
function dbtProcessesInCopies(): number[] {
  const pids: number[] = [];
  for (const dir of shopProjectCopies()) {
    try {
      pids.push(...execFileSync('pgrep', ['-f', `${dir}/target/watcher/`], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number));
    } catch {
      // pgrep exits 1 when nothing matches
    }
  }
  return pids;
}

async function stopLeftovers(when: string): Promise<void> {
  // dbt first: a target lock may only go once nothing writes to the target.
  const dbt = dbtProcessesInCopies();
  for (const pid of dbt) {
    try {
      process.kill(-pid, 'SIGKILL'); // dbt runs in its own process group
    } catch {
      // gone meanwhile
    }
  }
  const c = await client();
  await letPostBuildWorkflowsEnd(c);
  const query = `ExecutionStatus = 'Running' AND (${WATCHER_WORKFLOW_TYPES.map((t) => `WorkflowType = '${t}'`).join(' OR ')})`;
  const listed: string[] = [];
  for await (const wf of c.workflow.list({ query })) listed.push(wf.workflowId);
  // The list (visibility) lags behind: only what Temporal says still runs was left running.
  const left: string[] = [];
  for (const workflowId of listed) {
    const handle = c.workflow.getHandle(workflowId);
    const running = await handle.describe().then((d) => d.status.name === 'RUNNING', () => false);
    if (!running) continue;
    const terminated = await handle.terminate(`test teardown: left running ${when}`).then(() => true, () => false); // closed meanwhile
    if (terminated) left.push(workflowId);
  }
  if (dbt.length || left.length) {
    console.warn(`[teardown] ${when}: stopped ${dbt.length} dbt processes and terminated ${left.length} workflows left running: ${left.slice(0, 10).join(', ')}${left.length > 10 ? ', ...' : ''}`);
  }
}

/** Wait (bounded, all together) for the running post-build workflows to end by themselves. */
async function letPostBuildWorkflowsEnd(c: Client): Promise<void> {
  const waits: Array<Promise<unknown>> = [];
  for await (const wf of c.workflow.list({ query: `ExecutionStatus = 'Running' AND WorkflowType = 'dbtBuildAlerts'` })) {
    waits.push(c.workflow.getHandle(wf.workflowId).result().catch(() => undefined));
  }
  if (waits.length === 0) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(waits), new Promise((r) => (timer = setTimeout(r, SETTLING_MS)))]);
  clearTimeout(timer);
}

afterEach(async (context) => {
  await stopLeftovers(`after "${context.task.name}"`);
});

afterAll(async () => {
  await stopLeftovers('after the file');
  await connection?.close();
  // WATCHER_KEEP_TEST_PROJECTS=1 keeps them (with every dbt log and artifact) to look into a failure.
  if (process.env.WATCHER_KEEP_TEST_PROJECTS === '1') console.warn(`[teardown] kept project copies: ${shopProjectCopies().join(', ')}`);
  else for (const dir of shopProjectCopies()) rmSync(dir, { recursive: true, force: true });
});
