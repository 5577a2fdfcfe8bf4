// The build activity's heartbeat checkpoint: what a retried attempt needs to resume a build
// without re-running what already finished, and without reporting any consumer twice.
// Compact on purpose (it goes out with every heartbeat): nodes are indices into the
// activity's own node list (consumers, then their tests), not unique_ids.
import type { DbtNodeResult } from '../contracts/messages.js';
import { isFailedResultStatus, isPassingResultStatus, type ResultStatus } from '../contracts/status.js';
import type { PartialReport, TrackedConsumer } from './report-tracker.js';

export interface BuildCheckpoint {
  /** dbt's invocation the checkpoint comes from. */
  invocationId?: string;
  /** Indices of consumers whose report went out. */
  reported: number[];
  /** Indices of nodes (consumers and tests) that finished successfully (success, pass, warn). */
  succeeded: number[];
  /** Indices of nodes that failed (error, fail). */
  failed: number[];
  /** Indices of nodes that ended without running (skipped, not run, canceled). */
  skipped: number[];
  /** Unreported consumers that already have results (a model whose tests were still running). */
  partials: PartialReport[];
  /** Set once dbt itself exited: a resumed attempt only delivers what is left. */
  dbtExitCode?: number | null;
}

/** The activity's node list: consumers first, then every test once, in a stable order. */
export function checkpointIndex(consumers: readonly TrackedConsumer[]): string[] {
  const ids = consumers.map((c) => c.uniqueId);
  const seen = new Set(ids);
  for (const c of consumers) {
    for (const t of c.tests) {
      if (seen.has(t)) continue;
      seen.add(t);
      ids.push(t);
    }
  }
  return ids;
}


export function encodeCheckpoint(
  index: readonly string[],
  state: { invocationId?: string; reported: readonly string[]; finished: ReadonlyMap<string, ResultStatus>; partials: PartialReport[]; dbtExitCode?: number | null },
): BuildCheckpoint {
  const position = new Map(index.map((id, i) => [id, i]));
  const at = (id: string) => position.get(id);
  const succeeded: number[] = [];
  const failed: number[] = [];
  const skipped: number[] = [];
  for (const [id, status] of state.finished) {
    const i = at(id);
    if (i === undefined) continue;
    (isPassingResultStatus(status) ? succeeded : isFailedResultStatus(status) ? failed : skipped).push(i);
  }
  return {
    invocationId: state.invocationId,
    reported: state.reported.map(at).filter((i): i is number => i !== undefined),
    succeeded,
    failed,
    skipped,
    partials: state.partials,
    ...(state.dbtExitCode !== undefined ? { dbtExitCode: state.dbtExitCode } : {}),
  };
}

export interface DecodedCheckpoint {
  invocationId?: string;
  reported: string[];
  /** Finished nodes: passed ones come back as `success`, failed as `error`, the rest as `skipped`. */
  finished: Map<string, ResultStatus>;
  partials: PartialReport[];
  dbtExitCode?: number | null;
}

export function decodeCheckpoint(index: readonly string[], checkpoint: BuildCheckpoint): DecodedCheckpoint {
  const id = (i: number) => index[i];
  const finished = new Map<string, ResultStatus>();
  for (const i of checkpoint.succeeded) if (id(i)) finished.set(id(i)!, 'success');
  for (const i of checkpoint.failed) if (id(i)) finished.set(id(i)!, 'error');
  for (const i of checkpoint.skipped) if (id(i)) finished.set(id(i)!, 'skipped');
  // Partial results carry their real statuses.
  const partialResults: DbtNodeResult[] = checkpoint.partials.flatMap((p) => [...(p.node ? [p.node] : []), ...p.tests]);
  for (const r of partialResults) finished.set(r.uniqueId, r.status);
  return {
    invocationId: checkpoint.invocationId,
    reported: checkpoint.reported.map(id).filter((x): x is string => x !== undefined),
    finished,
    partials: checkpoint.partials,
    dbtExitCode: checkpoint.dbtExitCode,
  };
}

/** A heartbeat detail that looks like a checkpoint (anything else means: start from scratch). */
export function isCheckpoint(value: unknown): value is BuildCheckpoint {
  const v = value as BuildCheckpoint | undefined;
  const indices = (a: unknown) => Array.isArray(a) && a.every((i) => Number.isInteger(i) && i >= 0);
  return (
    !!v &&
    indices(v.reported) &&
    indices(v.succeeded) &&
    indices(v.failed) &&
    indices(v.skipped) &&
    Array.isArray(v.partials) &&
    v.partials.every((p) => !!p && typeof p.uniqueId === 'string' && Array.isArray(p.tests))
  );
}
