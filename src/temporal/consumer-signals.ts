// Delivers node results from the build activity straight to the consumers, through the
// worker's Temporal client: bounded concurrency, per-consumer order, at-least-once
// (consumers keep the first report they get, so a resend is harmless).
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { nodeReportSignal, nodeStartedSignal, type NodeReport } from '../contracts/messages.js';
import { nodeWorkflowId } from '../contracts/names.js';

export interface SignalStats {
  delivered: number;
  /** The consumer did not exist or had closed: nothing to tell it. */
  notFound: number;
  /** Gave up after retrying for `giveUpAfterMs`. */
  failed: number;
}

interface Slot {
  start?: { startedAt: string };
  /** The start, held back for `startDelayMs`: a node that ends sooner needs its report only. */
  delayedStart?: ReturnType<typeof setTimeout>;
  report?: NodeReport;
  /** A report was queued once: a start is never worth sending after it. */
  reported: boolean;
  inFlight: boolean;
}

export interface ConsumerSignalsOptions {
  concurrency?: number;
  /** Keep retrying a signal while Temporal is unreachable, up to this long. */
  giveUpAfterMs?: number;
  onDelivered?: (report: NodeReport) => void;
  onError?: (uniqueId: string, err: unknown) => void;
  /** Stop retrying when this aborts (the activity was canceled): what is left counts as failed. */
  abort?: AbortSignal;
  /**
   * Hold each start back this long (default 0): a node whose report comes sooner is told its
   * report only, which saves its consumer a signal, a workflow task and a search-attribute
   * upsert. Most nodes of a build end within a second, and those are what compete with dbt.
   */
  startDelayMs?: number;
}

export class ConsumerSignals {
  private readonly slots = new Map<string, Slot>();
  private readonly ready: string[] = [];
  private readonly queued = new Set<string>();
  private active = 0;
  private idleWaiters: Array<() => void> = [];
  readonly stats: SignalStats = { delivered: 0, notFound: 0, failed: 0 };
  private readonly concurrency: number;
  private readonly giveUpAfterMs: number;

  constructor(
    private readonly client: Client,
    private readonly buildId: string,
    private readonly options: ConsumerSignalsOptions = {},
  ) {
    this.concurrency = options.concurrency ?? 32;
    this.giveUpAfterMs = options.giveUpAfterMs ?? 15 * 60_000;
  }

  /** dbt started the node: worth telling only if its report is not already on its way (or comes within startDelayMs). */
  started(uniqueId: string, startedAt: string): void {
    const slot = this.slot(uniqueId);
    if (slot.reported || slot.delayedStart) return;
    // A report clears a held start's timer (report), so the timer never fires after one.
    const tell = () => {
      slot.delayedStart = undefined;
      slot.start = { startedAt };
      this.schedule(uniqueId);
    };
    const delayMs = this.options.startDelayMs ?? 0;
    if (delayMs > 0) slot.delayedStart = setTimeout(tell, delayMs);
    else tell();
  }

  report(report: NodeReport): void {
    const slot = this.slot(report.uniqueId);
    slot.report = report;
    slot.reported = true;
    slot.start = undefined; // the report supersedes a start that has not gone out yet
    this.dropDelayedStart(slot);
    this.schedule(report.uniqueId);
  }

  /**
   * Starts still held back are dropped: the build is ending (every consumer gets its report, or
   * the build tells it how it ended), and nothing may be sent after its activity returns.
   */
  dropDelayedStarts(): void {
    for (const slot of this.slots.values()) this.dropDelayedStart(slot);
  }

  /** Drops the starts still held back, then resolves once every queued signal has been delivered or given up on. */
  drain(): Promise<SignalStats> {
    this.dropDelayedStarts();
    if (this.active === 0 && this.ready.length === 0) return Promise.resolve(this.stats);
    return new Promise((resolve) => this.idleWaiters.push(() => resolve(this.stats)));
  }

  private dropDelayedStart(slot: Slot): void {
    if (!slot.delayedStart) return;
    clearTimeout(slot.delayedStart);
    slot.delayedStart = undefined;
  }

  private slot(uniqueId: string): Slot {
    let slot = this.slots.get(uniqueId);
    if (!slot) {
      slot = { inFlight: false, reported: false };
      this.slots.set(uniqueId, slot);
    }
    return slot;
  }

  private schedule(uniqueId: string): void {
    const slot = this.slots.get(uniqueId)!;
    if (!slot.inFlight) this.enqueue(uniqueId);
    this.pump();
  }

  private enqueue(uniqueId: string): void {
    if (this.queued.has(uniqueId)) return;
    this.queued.add(uniqueId);
    this.ready.push(uniqueId);
  }

  private pump(): void {
    while (this.active < this.concurrency && this.ready.length > 0) {
      const uniqueId = this.ready.shift()!;
      this.queued.delete(uniqueId);
      const slot = this.slots.get(uniqueId)!;
      const message = slot.report ? { report: slot.report } : slot.start ? { start: slot.start } : undefined;
      if (!message) continue;
      if (message.report) slot.report = undefined;
      else slot.start = undefined;
      slot.inFlight = true;
      this.active++;
      void this.send(uniqueId, message).finally(() => {
        slot.inFlight = false;
        this.active--;
        if (slot.report || slot.start) this.enqueue(uniqueId);
        this.pump();
        if (this.active === 0 && this.ready.length === 0) {
          const waiters = this.idleWaiters;
          this.idleWaiters = [];
          for (const w of waiters) w();
        }
      });
    }
  }

  /** Wait before a retry; an abort cuts the wait short. */
  private pause(ms: number): Promise<void> {
    const abort = this.options.abort;
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      abort?.addEventListener('abort', done, { once: true });
      function done() {
        clearTimeout(timer);
        abort?.removeEventListener('abort', done);
        resolve();
      }
    });
  }

  /**
   * Why a consumer could not be signaled: it has closed, it has not started yet, or it started
   * just now (between the signal and this look: try again at once), or the server is unreachable.
   */
  private async existence(handle: ReturnType<Client['workflow']['getHandle']>): Promise<'closed' | 'running' | 'not_started' | 'unknown'> {
    try {
      const { status } = await handle.describe();
      return status.name === 'RUNNING' ? 'running' : 'closed';
    } catch (err) {
      return err instanceof WorkflowNotFoundError ? 'not_started' : 'unknown';
    }
  }

  private async send(uniqueId: string, message: { report?: NodeReport; start?: { startedAt: string } }): Promise<void> {
    const handle = this.client.workflow.getHandle(nodeWorkflowId(this.buildId, uniqueId));
    const deadline = Date.now() + this.giveUpAfterMs;
    for (let delay = 100; ; delay = Math.min(delay * 2, 5_000)) {
      try {
        if (message.report) await handle.signal(nodeReportSignal, message.report);
        else await handle.signal(nodeStartedSignal, message.start!);
        if (message.report) {
          this.stats.delivered++;
          this.options.onDelivered?.(message.report);
        }
        return;
      } catch (err) {
        // Not found: either the consumer has closed (nothing to tell it), or its group has not
        // started it yet (dbt does not wait for consumers to start): then keep trying.
        if (err instanceof WorkflowNotFoundError) {
          const state = await this.existence(handle);
          if (state === 'closed') {
            if (message.report) this.stats.notFound++;
            return;
          }
          if (state === 'running') continue;
        }
        if (Date.now() + delay > deadline || this.options.abort?.aborted) {
          if (message.report) this.stats.failed++;
          this.options.onError?.(uniqueId, err);
          return;
        }
        await this.pause(delay);
      }
    }
  }
}
