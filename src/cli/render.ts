// Terminal output for builds: the live progress bar and the final per-node table.
import cliProgress from 'cli-progress';
import Table from 'cli-table3';
import type { BuildProgress, NodeProgress } from '../contracts/messages.js';
import { isPassingNodeStatus, isTerminalNodeStatus } from '../contracts/status.js';

function oneLine(s: string | undefined, max: number): string {
  if (!s) return '';
  const first = s.split('\n').map((l) => l.trim()).filter(Boolean).join(' ');
  return first.length > max ? `${first.slice(0, max - 1)}…` : first;
}

function testsCell(n: NodeProgress): string {
  if (!n.tests) return '';
  const { total, passed, warned, failed } = n.tests;
  const parts = [`${passed}/${total} pass`];
  if (warned) parts.push(`${warned} warn`);
  if (failed) parts.push(`${failed} not passed`);
  return parts.join(', ');
}

/** The per-node table: one row per model, seed and snapshot, in build order. */
export function renderNodeTable(progress: BuildProgress): string {
  const table = new Table({
    head: ['node', 'status', 'attempt', 'rows', 'time (s)', 'tests', 'message'],
    style: { head: [], border: [] },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
    wordWrap: false,
  });
  for (const n of progress.nodes) {
    table.push([
      n.uniqueId,
      n.status,
      n.attempt ?? '',
      n.rowsAffected ?? '',
      n.executionTimeSeconds !== undefined ? n.executionTimeSeconds.toFixed(2) : '',
      testsCell(n),
      isPassingNodeStatus(n.status) ? '' : oneLine(n.message, 70),
    ]);
  }
  return table.toString();
}

export function renderCounts(progress: BuildProgress): string {
  return Object.entries(progress.counts)
    .map(([status, count]) => `${status} ${count}`)
    .join(', ');
}

/** A progress bar on stderr fed by `progress` query results (a no-op when stderr is not a TTY). */
export class BuildProgressBar {
  private bar?: cliProgress.SingleBar;
  private lastPhase?: string;

  constructor(private readonly enabled = process.stderr.isTTY === true) {}

  update(progress: BuildProgress): void {
    const total = progress.nodes.length;
    const done = progress.nodes.filter((n) => isTerminalNodeStatus(n.status)).length;
    const failed = progress.nodes.filter((n) => isTerminalNodeStatus(n.status) && !isPassingNodeStatus(n.status)).length;
    if (!this.enabled) {
      if (progress.phase !== this.lastPhase) console.error(`watcher: ${progress.buildId}: ${progress.phase} (${done}/${total} nodes)`);
      this.lastPhase = progress.phase;
      return;
    }
    if (!this.bar && total > 0) {
      this.bar = new cliProgress.SingleBar(
        { format: ' {bar} {value}/{total} nodes | {phase} | failed {failed}', hideCursor: true, stream: process.stderr },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total, done, { phase: progress.phase, failed });
    }
    this.bar?.update(done, { phase: progress.phase, failed });
  }

  stop(): void {
    this.bar?.stop();
  }
}

/** A plain table of rows under a header (for lists: tokens, schedules, ...). */
export function renderTable(head: string[], rows: Array<Array<string | number>>): string {
  const table = new Table({ head, style: { head: [], border: [] }, chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' } });
  table.push(...rows);
  return table.toString();
}
