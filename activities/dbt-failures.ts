// How a dbt activity fails: the project check every one makes first, and the one translation of
// a DbtRun's outcome into the activity's failure. Which outcomes an activity goes on with is
// its own decision; what it throws for the others is decided here.
import { ApplicationFailure } from '@temporalio/activity';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { FailureTypes } from '../src/contracts/status.js';
import type { DbtRunOutcome } from '../src/dbt/dbt-run.js';

/** A missing project is the caller's mistake: fail at once, naming the field. */
export function assertProjectDir(projectDir: string): void {
  let isDir = false;
  try {
    isDir = statSync(projectDir).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir) throw ApplicationFailure.nonRetryable(`projectDir: ${projectDir} is not a directory`, FailureTypes.invalidInput);
  if (!existsSync(path.join(projectDir, 'dbt_project.yml'))) {
    throw ApplicationFailure.nonRetryable(`projectDir: ${projectDir} has no dbt_project.yml`, FailureTypes.invalidInput);
  }
}

/**
 * What the activity throws for an outcome it cannot go on with. A cancellation is the
 * activity's own; anything else is not worth retrying: dbt not installed is an operator's
 * problem, and a dbt that failed once fails the same way again.
 */
export function dbtRunFailure(outcome: Exclude<DbtRunOutcome, { kind: 'ok' }>): unknown {
  switch (outcome.kind) {
    case 'canceled':
      return outcome.reason ?? new Error('activity cancelled');
    case 'not-found':
    case 'nodes-failed':
    case 'dbt-failed':
    case 'crashed':
      return ApplicationFailure.nonRetryable(outcome.message, FailureTypes.dbtInvocation);
  }
}
