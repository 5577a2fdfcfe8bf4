// What an earlier attempt's dbt finished, read back from its JSON log file (`--log-path`): the
// durable record, on this machine, of results that may never have reached a consumer, because
// the worker streaming them died. dbt writes the file line by line as it goes, and keeps
// writing after its worker died, until the SIGINT it got then takes effect.
import { createReadStream } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { DbtNodeResult } from '../contracts/messages.js';
import { isPassingResultStatus } from '../contracts/status.js';
import { DbtEventNames, isRelevantLogLine, parseDbtLogLine, type DbtEvent } from './events.js';
import { EventTranslator } from './translate.js';

export interface EarlierInvocation {
  invocationId?: string;
  /** Results dbt logged and that stand (see `resultsOfLog`). */
  results: DbtNodeResult[];
  /** Set when dbt got to its end by itself (not stopped, not crashed): whether it succeeded. */
  completed?: { success: boolean };
}

/** The log file dbt writes into an invocation's `--log-path`. */
export function dbtLogFile(logPath: string): string {
  return path.join(logPath, 'dbt.log');
}

/** Reads one invocation's log; undefined when it has none here (another machine, never started). */
export async function readEarlierInvocation(logFile: string): Promise<EarlierInvocation | undefined> {
  const events: DbtEvent[] = [];
  try {
    const lines = readline.createInterface({ input: createReadStream(logFile, 'utf8'), crlfDelay: Infinity });
    for await (const line of lines) {
      if (!isRelevantLogLine(line)) continue;
      const event = parseDbtLogLine(line);
      if (event) events.push(event);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return resultsOfLog(events);
}

/**
 * The results that stand, from one invocation's events in order. On SIGINT dbt first writes
 * run_results.json (ArtifactWritten), then cancels the queries still running: a node that ends
 * after that point with an error or a skip was interrupted, not judged, and must run again. A
 * node that passed after it did finish its work. A half-written last line is not an event.
 */
export function resultsOfLog(events: readonly DbtEvent[]): EarlierInvocation {
  const translator = new EventTranslator();
  const results: DbtNodeResult[] = [];
  let invocationId: string | undefined;
  // Past this point, only passing results stand (on a normal end no result comes after it).
  let pastRunEnd = false;
  // dbt was stopped (SIGINT) or crashed: its end says nothing about the nodes it did not finish.
  let stopped = false;
  let completed: EarlierInvocation['completed'];
  for (const event of events) {
    invocationId ??= event.invocationId || undefined;
    if (event.name === DbtEventNames.artifactWritten && String(event.data.artifact_type ?? '') === 'RunExecutionResult') pastRunEnd = true;
    if (event.name === DbtEventNames.cancelLine) pastRunEnd = true;
    if (event.name === DbtEventNames.fatal || (event.name === DbtEventNames.endOfRunSummary && event.data.keyboard_interrupt === true)) stopped = true;
    if (event.name === DbtEventNames.commandCompleted && !stopped) completed = { success: event.data.success === true };
    const result = translator.translate(event);
    if (!result || result.status === 'not_run') continue;
    if (pastRunEnd && !isPassingResultStatus(result.status)) continue;
    results.push(result);
  }
  return { invocationId, results, ...(completed ? { completed } : {}) };
}
