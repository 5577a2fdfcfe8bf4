// Gathers dbt results into one report per consumer: a consumer's report is complete when its
// node and all of its tests have results (a test with two parents counts for both).
// Pure logic: no I/O, so the build activity and single-node reruns share it.
import type { DbtNodeResult, NodeReport } from '../contracts/messages.js';
import type { ResultStatus } from '../contracts/status.js';
import { missingResult } from '../dbt/translate.js';

interface Pending {
  node?: DbtNodeResult;
  tests: Map<string, DbtNodeResult | undefined>;
  completedAtMs?: number;
}

export interface PartialReport {
  uniqueId: string;
  node?: DbtNodeResult;
  tests: DbtNodeResult[];
}

export interface TrackedConsumer {
  uniqueId: string;
  tests: readonly string[];
}

export class ReportTracker {
  private readonly pending = new Map<string, Pending>();
  private readonly testParents = new Map<string, string[]>();
  /** Every node (consumer or test) with a result, and that result's status. */
  private readonly statuses = new Map<string, ResultStatus>();
  private readonly done = new Set<string>();

  constructor(
    consumers: readonly TrackedConsumer[],
    private readonly invocationId: () => string | undefined = () => undefined,
  ) {
    for (const c of consumers) {
      this.pending.set(c.uniqueId, { tests: new Map(c.tests.map((t) => [t, undefined])) });
      for (const t of c.tests) this.testParents.set(t, [...(this.testParents.get(t) ?? []), c.uniqueId]);
    }
  }

  isConsumer(uniqueId: string): boolean {
    return this.pending.has(uniqueId) || this.done.has(uniqueId);
  }

  /** Consumers whose reports are complete. */
  completedConsumers(): string[] {
    return [...this.done];
  }

  /** Every node (consumer or test) with a result, with its status. */
  finishedStatuses(): ReadonlyMap<string, ResultStatus> {
    return this.statuses;
  }

  /** Open reports that already have some results (what a resumed build must not lose). */
  openPartials(): PartialReport[] {
    const out: PartialReport[] = [];
    for (const [uniqueId, p] of this.pending) {
      const tests = [...p.tests.values()].filter((t): t is DbtNodeResult => t !== undefined);
      if (p.node || tests.length) out.push({ uniqueId, node: p.node, tests });
    }
    return out;
  }

  /** Continue from a checkpoint: reported consumers stay reported, partial results are kept. */
  restore(checkpoint: { reported: Iterable<string>; finished: ReadonlyMap<string, ResultStatus>; partials: readonly PartialReport[] }): void {
    this.markReported(checkpoint.reported);
    for (const [id, status] of checkpoint.finished) this.statuses.set(id, status);
    for (const partial of checkpoint.partials) {
      const p = this.pending.get(partial.uniqueId);
      if (!p) continue;
      if (partial.node) p.node = partial.node;
      for (const t of partial.tests) if (p.tests.has(t.uniqueId)) p.tests.set(t.uniqueId, t);
    }
  }

  /**
   * Consumers that Temporal says received their report: they are reported, their results are
   * finished, and a test they share with a consumer still open counts for that one too. A
   * report whose results are unknown marks its node `error` (not passing: dbt would not build
   * what is below it, and the consumer's own retry reruns it alone).
   */
  restoreReceived(received: ReadonlyArray<{ uniqueId: string; node?: DbtNodeResult; tests: readonly DbtNodeResult[] }>): void {
    this.markReported(received.map((r) => r.uniqueId));
    for (const r of received) {
      if (!this.statuses.has(r.uniqueId)) this.statuses.set(r.uniqueId, r.node?.status ?? 'error');
      for (const t of r.tests) {
        if (t.source === 'missing') continue; // filled in for a node dbt never reported: not a result
        this.statuses.set(t.uniqueId, t.status);
        for (const owner of this.testParents.get(t.uniqueId) ?? []) {
          const p = this.pending.get(owner);
          if (p && p.tests.has(t.uniqueId) && !p.tests.get(t.uniqueId)) p.tests.set(t.uniqueId, t);
        }
      }
    }
  }

  /** Mark consumers as already reported (a resumed build must not report them twice). */
  markReported(uniqueIds: Iterable<string>): void {
    for (const id of uniqueIds) {
      if (this.pending.delete(id)) this.done.add(id);
    }
  }

  /** Record one result; returns the reports it completed. The first result of a node wins. */
  record(result: DbtNodeResult, atMs: number): NodeReport[] {
    if (this.statuses.has(result.uniqueId)) return [];
    const owners = this.pending.has(result.uniqueId) ? [result.uniqueId] : (this.testParents.get(result.uniqueId) ?? []);
    if (owners.length === 0) return [];
    this.statuses.set(result.uniqueId, result.status);
    const completed: NodeReport[] = [];
    for (const owner of owners) {
      const p = this.pending.get(owner);
      if (!p) continue;
      if (owner === result.uniqueId) p.node = result;
      else p.tests.set(result.uniqueId, result);
      if (p.node && [...p.tests.values()].every((t) => t !== undefined)) completed.push(this.complete(owner, p, atMs));
    }
    return completed;
  }

  /** Reports that are complete without a new result (after a restore). */
  completeReady(atMs: number): NodeReport[] {
    const out: NodeReport[] = [];
    for (const [id, p] of [...this.pending]) {
      if (p.node && [...p.tests.values()].every((t) => t !== undefined)) out.push(this.complete(id, p, atMs));
    }
    return out;
  }

  /** Close every open report, filling what dbt never reported with `status`. */
  completeAll(status: 'not_run' | 'canceled', cause: string, retryable: boolean, atMs: number): NodeReport[] {
    const out: NodeReport[] = [];
    for (const [id, p] of [...this.pending]) {
      p.node ??= missingResult(id, status, cause);
      for (const [testId, r] of p.tests) if (!r) p.tests.set(testId, missingResult(testId, status, cause));
      const report = this.complete(id, p, atMs);
      if (report.node.source === 'missing' || report.tests.some((t) => t.source === 'missing')) {
        report.cause = cause;
        report.retryable = retryable;
      }
      out.push(report);
    }
    return out;
  }

  /** Consumers whose report is not complete yet. */
  openConsumers(): string[] {
    return [...this.pending.keys()];
  }

  openCount(): number {
    return this.pending.size;
  }

  private complete(id: string, p: Pending, atMs: number): NodeReport {
    this.pending.delete(id);
    this.done.add(id);
    return {
      uniqueId: id,
      node: p.node!,
      tests: [...p.tests.values()].filter((t): t is DbtNodeResult => t !== undefined),
      invocationId: this.invocationId(),
      completedAtMs: atMs,
    };
  }
}
