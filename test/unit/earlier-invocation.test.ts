import { describe, expect, it } from 'vitest';
import { resultsOfLog } from '../../src/dbt/earlier-invocation.js';
import type { DbtEvent } from '../../src/dbt/events.js';

function event(name: string, data: Record<string, unknown> = {}): DbtEvent {
  return { name, code: '', level: 'debug', msg: '', invocationId: 'inv-1', ts: '2026-12-01T10:00:00Z', data };
}
const finished = (uniqueId: string, status: string) => event('NodeFinished', { node_info: { unique_id: uniqueId, resource_type: uniqueId.split('.')[0] }, run_result: { status } });
const runResultsWritten = event('ArtifactWritten', { artifact_type: 'RunExecutionResult' });
const manifestWritten = event('ArtifactWritten', { artifact_type: 'WritableManifest' });
const summary = (keyboardInterrupt: boolean) => event('EndOfRunSummary', keyboardInterrupt ? { keyboard_interrupt: true } : {});
const completed = (success: boolean) => event('CommandCompleted', { success });
const statuses = (events: DbtEvent[]) => resultsOfLog(events).results.map((r) => `${r.uniqueId} ${r.status}`);

describe('resultsOfLog: what an earlier dbt finished', () => {
  it('keeps every result of a run that ended by itself, and says it completed', () => {
    const log = [manifestWritten, finished('seed.s.a', 'success'), finished('model.s.b', 'error'), finished('model.s.c', 'skipped'), summary(false), runResultsWritten, completed(false)];
    expect(statuses(log)).toEqual(['seed.s.a success', 'model.s.b error', 'model.s.c skipped']);
    expect(resultsOfLog(log)).toMatchObject({ invocationId: 'inv-1', completed: { success: false } });
  });

  it('of a run stopped by SIGINT keeps only what passed before run_results was written: the rest is interrupted work', () => {
    const log = [
      finished('seed.s.a', 'success'),
      finished('model.s.lost_connection', 'error'),
      runResultsWritten,
      event('LogCancelLine', { conn_name: 'model.s.slow' }),
      finished('model.s.slow', 'error'),
      finished('model.s.done_meanwhile', 'success'),
      finished('model.s.below', 'skipped'),
      finished('test.s.t', 'pass'),
      summary(true),
      event('MainEncounteredError', { exc: 'KeyboardInterrupt' }),
      completed(false),
    ];
    expect(statuses(log)).toEqual(['seed.s.a success']);
    expect(resultsOfLog(log).completed).toBeUndefined();
  });

  it('a canceled query counts as not finished', () => {
    const log = [event('LogCancelLine', { conn_name: 'model.s.x' }), finished('model.s.x', 'error'), summary(false), completed(false)];
    expect(statuses(log)).toEqual([]);
  });

  it('a dbt stopped before it ran any node (CommandCompleted, no run summary) did not complete', () => {
    expect(resultsOfLog([manifestWritten, completed(false)]).completed).toBeUndefined();
  });

  it('a crash (fatal error) is not a completed run', () => {
    expect(resultsOfLog([event('MainEncounteredError', { exc: 'boom' }), completed(false)]).completed).toBeUndefined();
  });

  it('an empty log has no results and no end', () => {
    expect(resultsOfLog([])).toEqual({ invocationId: undefined, results: [] });
  });
});
