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
 * The results that stand, from one invocation's events in order. A dbt that was stopped
 * (SIGINT when its worker died) or crashed writes run_results.json first, then cancels its
 * queries and closes its connections; what it logs after that point is not to be trusted either
 * way: nodes fail on their way out ("connection never acquired", canceled queries), and a seed
 * was seen logged `success` with its table never committed. So from such a run only what
 * passed before that point stands; everything else runs again. A run that ended by itself
 * keeps every result.
 */
export function resultsOfLog(events: readonly DbtEvent[]): EarlierInvocation {
  const stopped = events.some((e) => e.name === DbtEventNames.fatal || (e.name === DbtEventNames.endOfRunSummary && e.data.keyboard_interrupt === true));
  // It ran its nodes to the end only if it printed its run's summary (SIGINT during the parse
  // may still log CommandCompleted, with nothing run).
  const ranToEnd = events.some((e) => e.name === DbtEventNames.endOfRunSummary && e.data.keyboard_interrupt !== true);
  const translator = new EventTranslator();
  const results: DbtNodeResult[] = [];
  let invocationId: string | undefined;
  let completed: EarlierInvocation['completed'];
  let pastStop = false;
  for (const event of events) {
    invocationId ??= event.invocationId || undefined;
    const runResultsWritten = event.name === DbtEventNames.artifactWritten && String(event.data.artifact_type ?? '') === 'RunExecutionResult';
    if (stopped && (runResultsWritten || event.name === DbtEventNames.cancelLine || event.name === DbtEventNames.fatal)) pastStop = true;
    if (event.name === DbtEventNames.commandCompleted && ranToEnd && !stopped) completed = { success: event.data.success === true };
    const result = translator.translate(event);
    if (!result || result.status === 'not_run') continue;
    if (stopped && (pastStop || !isPassingResultStatus(result.status))) continue;
    results.push(result);
  }
  return { invocationId, results, ...(completed ? { completed } : {}) };
}
