import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { NodeReport } from '../../src/contracts/messages.js';
import { ConsumerSignals } from '../../src/temporal/consumer-signals.js';

const BUILD = 'b1';

interface SignalCall {
  workflowId: string;
  signal: string;
  arg: unknown;
}

type Behaviour = (call: SignalCall, attempt: number) => Promise<void>;

/** A fake Temporal client: records every signal, and answers as `behaviour` says (default: at once). */
class FakeClient {
  readonly calls: SignalCall[] = [];
  inFlight = 0;
  maxInFlight = 0;
  readonly inFlightPerWorkflow = new Map<string, number>();
  maxInFlightPerWorkflow = 0;
  behaviour: Behaviour = () => Promise.resolve();
  /** Consumers that exist (closed or running) for `describe`; others are "not started yet". */
  readonly existing = new Set<string>();
  /** Of those, the ones still running (they started between a signal and the look). */
  readonly running = new Set<string>();
  describes = 0;

  readonly client = {
    workflow: {
      getHandle: (workflowId: string) => ({
        describe: async (): Promise<object> => {
          this.describes++;
          if (this.existing.has(workflowId)) return { workflowId, status: { name: this.running.has(workflowId) ? 'RUNNING' : 'COMPLETED' } };
          throw new WorkflowNotFoundError('workflow not found', workflowId, undefined);
        },
        signal: async (def: { name: string }, arg: unknown): Promise<void> => {
          const call = { workflowId, signal: def.name, arg };
          this.calls.push(call);
          const attempt = this.calls.filter((c) => c.workflowId === workflowId && c.signal === def.name).length;
          this.inFlight++;
          this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
          const mine = (this.inFlightPerWorkflow.get(workflowId) ?? 0) + 1;
          this.inFlightPerWorkflow.set(workflowId, mine);
          this.maxInFlightPerWorkflow = Math.max(this.maxInFlightPerWorkflow, mine);
          try {
            await this.behaviour(call, attempt);
          } finally {
            this.inFlight--;
            this.inFlightPerWorkflow.set(workflowId, (this.inFlightPerWorkflow.get(workflowId) ?? 1) - 1);
          }
        },
      }),
    },
  } as unknown as Client;

  callsFor(uniqueId: string): string[] {
    return this.calls.filter((c) => c.workflowId === `watcher/${BUILD}/${uniqueId}`).map((c) => c.signal);
  }
}

/** A promise the test resolves or rejects by hand. */
function gate(): { promise: Promise<void>; open: () => void; fail: (err: unknown) => void } {
  let open!: () => void;
  let fail!: (err: unknown) => void;
  const promise = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

const flush = () => new Promise<void>((r) => setImmediate(r));

function report(uniqueId: string, status: 'success' | 'error' = 'success'): NodeReport {
  return {
    uniqueId,
    node: { uniqueId, resourceType: 'model', status, dbtStatus: status, source: 'event' },
    tests: [],
    invocationId: 'inv-1',
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('ConsumerSignals: delivery', () => {
  it('signals a report to the consumer workflow of its node and counts it', async () => {
    const fake = new FakeClient();
    const delivered: NodeReport[] = [];
    const signals = new ConsumerSignals(fake.client, BUILD, { onDelivered: (r) => delivered.push(r) });
    const r = report('model.shop.orders');
    signals.report(r);
    const stats = await signals.drain();
    expect(fake.calls).toEqual([{ workflowId: 'watcher/b1/model.shop.orders', signal: 'nodeReport', arg: r }]);
    expect(stats).toEqual({ delivered: 1, notFound: 0, failed: 0 });
    expect(delivered).toEqual([r]);
  });

  it('signals a start with its timestamp, without counting it as a delivered report', async () => {
    const fake = new FakeClient();
    const onDelivered = vi.fn();
    const signals = new ConsumerSignals(fake.client, BUILD, { onDelivered });
    signals.started('model.shop.orders', '2024-05-01T12:00:00Z');
    expect(await signals.drain()).toEqual({ delivered: 0, notFound: 0, failed: 0 });
    expect(fake.calls).toEqual([{ workflowId: 'watcher/b1/model.shop.orders', signal: 'nodeStarted', arg: { startedAt: '2024-05-01T12:00:00Z' } }]);
    expect(onDelivered).not.toHaveBeenCalled();
  });

  it('resolves drain at once when idle', async () => {
    const fake = new FakeClient();
    const signals = new ConsumerSignals(fake.client, BUILD);
    await expect(signals.drain()).resolves.toEqual({ delivered: 0, notFound: 0, failed: 0 });
  });

  it('resolves drain only once every signal has gone out', async () => {
    const fake = new FakeClient();
    const g = gate();
    fake.behaviour = () => g.promise;
    const signals = new ConsumerSignals(fake.client, BUILD);
    signals.report(report('model.shop.a'));
    signals.report(report('model.shop.b'));
    let drained = false;
    const drain = signals.drain().then((s) => {
      drained = true;
      return s;
    });
    await flush();
    expect(drained).toBe(false);
    g.open();
    expect(await drain).toEqual({ delivered: 2, notFound: 0, failed: 0 });
    expect(drained).toBe(true);
    // and again at once afterwards
    await expect(signals.drain()).resolves.toEqual({ delivered: 2, notFound: 0, failed: 0 });
  });

  it('resolves every waiting drain', async () => {
    const fake = new FakeClient();
    const g = gate();
    fake.behaviour = () => g.promise;
    const signals = new ConsumerSignals(fake.client, BUILD);
    signals.report(report('model.shop.a'));
    const drains = [signals.drain(), signals.drain(), signals.drain()];
    g.open();
    const results = await Promise.all(drains);
    for (const s of results) expect(s.delivered).toBe(1);
  });
});

describe('ConsumerSignals: per-consumer order', () => {
  it('sends the start before the report, never both at once for one consumer', async () => {
    const fake = new FakeClient();
    const g = gate();
    fake.behaviour = (call) => (call.signal === 'nodeStarted' ? g.promise : Promise.resolve());
    const signals = new ConsumerSignals(fake.client, BUILD);
    signals.started('model.shop.orders', 't0');
    await flush();
    signals.report(report('model.shop.orders'));
    await flush();
    // the report waits for the start in flight
    expect(fake.callsFor('model.shop.orders')).toEqual(['nodeStarted']);
    g.open();
    await signals.drain();
    expect(fake.callsFor('model.shop.orders')).toEqual(['nodeStarted', 'nodeReport']);
    expect(fake.maxInFlightPerWorkflow).toBe(1);
  });

  it('lets a report supersede a start that has not been sent yet', async () => {
    const fake = new FakeClient();
    const g = gate();
    fake.behaviour = (call) => (call.workflowId.endsWith('blocker') ? g.promise : Promise.resolve());
    const signals = new ConsumerSignals(fake.client, BUILD, { concurrency: 1 });
    signals.report(report('model.shop.blocker')); // occupies the only slot
    signals.started('model.shop.orders', 't0');
    signals.report(report('model.shop.orders'));
    g.open();
    await signals.drain();
    expect(fake.callsFor('model.shop.orders')).toEqual(['nodeReport']);
  });

  it('drops a start that comes after a report still waiting to go out', async () => {
    const fake = new FakeClient();
    const g = gate();
    fake.behaviour = (call) => (call.workflowId.endsWith('blocker') ? g.promise : Promise.resolve());
    const signals = new ConsumerSignals(fake.client, BUILD, { concurrency: 1 });
    signals.report(report('model.shop.blocker'));
    signals.report(report('model.shop.orders'));
    signals.started('model.shop.orders', 'late');
    g.open();
    await signals.drain();
    expect(fake.callsFor('model.shop.orders')).toEqual(['nodeReport']);
  });

  it('drops a start that comes while the report is already on its way', async () => {
    const fake = new FakeClient();
    const g = gate();
    fake.behaviour = (call) => (call.signal === 'nodeReport' ? g.promise : Promise.resolve());
    const signals = new ConsumerSignals(fake.client, BUILD);
    signals.report(report('model.shop.orders'));
    await flush();
    expect(fake.callsFor('model.shop.orders')).toEqual(['nodeReport']);
    signals.started('model.shop.orders', 'late'); // the report is in flight: nothing left to tell
    g.open();
    await signals.drain();
    expect(fake.callsFor('model.shop.orders')).toEqual(['nodeReport']);
  });

  it('resends a newer report after the one in flight (consumers keep the first)', async () => {
    const fake = new FakeClient();
    const g = gate();
    fake.behaviour = (_call, attempt) => (attempt === 1 ? g.promise : Promise.resolve());
    const signals = new ConsumerSignals(fake.client, BUILD);
    const first = report('model.shop.orders', 'success');
    const second = report('model.shop.orders', 'error');
    signals.report(first);
    await flush();
    signals.report(second);
    await flush();
    expect(fake.calls).toHaveLength(1);
    g.open();
    const stats = await signals.drain();
    expect(fake.calls.map((c) => c.arg)).toEqual([first, second]);
    expect(stats.delivered).toBe(2);
    expect(fake.maxInFlightPerWorkflow).toBe(1);
  });

  it('sends only the latest of several queued reports', async () => {
    const fake = new FakeClient();
    const g = gate();
    fake.behaviour = (call) => (call.workflowId.endsWith('blocker') ? g.promise : Promise.resolve());
    const signals = new ConsumerSignals(fake.client, BUILD, { concurrency: 1 });
    signals.report(report('model.shop.blocker'));
    signals.report(report('model.shop.orders', 'success'));
    signals.report(report('model.shop.orders', 'error'));
    g.open();
    await signals.drain();
    const sent = fake.calls.filter((c) => c.workflowId.endsWith('orders'));
    expect(sent).toHaveLength(1);
    expect((sent[0]!.arg as NodeReport).node.status).toBe('error');
  });
});

describe('ConsumerSignals: starts held back (startDelayMs)', () => {
  it('tells a node that ends within the delay its report only', async () => {
    vi.useFakeTimers();
    const fake = new FakeClient();
    const signals = new ConsumerSignals(fake.client, BUILD, { startDelayMs: 1_000 });
    signals.started('model.shop.orders', 't0');
    await vi.advanceTimersByTimeAsync(999);
    expect(fake.callsFor('model.shop.orders')).toEqual([]);
    signals.report(report('model.shop.orders'));
    await vi.advanceTimersByTimeAsync(5_000);
    await signals.drain();
    expect(fake.callsFor('model.shop.orders')).toEqual(['nodeReport']);
  });

  it('tells a node still running after the delay that it started, with the time dbt gave', async () => {
    vi.useFakeTimers();
    const fake = new FakeClient();
    const signals = new ConsumerSignals(fake.client, BUILD, { startDelayMs: 1_000 });
    signals.started('model.shop.orders', 't0');
    signals.started('model.shop.orders', 't1'); // a second start (a retried event) changes nothing
    await vi.advanceTimersByTimeAsync(1_000);
    expect(fake.calls).toEqual([{ workflowId: `watcher/${BUILD}/model.shop.orders`, signal: 'nodeStarted', arg: { startedAt: 't0' } }]);
    signals.report(report('model.shop.orders'));
    await signals.drain();
    expect(fake.callsFor('model.shop.orders')).toEqual(['nodeStarted', 'nodeReport']);
  });

  it('drops the starts still held back when it drains, and sends nothing after', async () => {
    vi.useFakeTimers();
    const fake = new FakeClient();
    const signals = new ConsumerSignals(fake.client, BUILD, { startDelayMs: 1_000 });
    signals.started('model.shop.orders', 't0');
    expect(await signals.drain()).toEqual({ delivered: 0, notFound: 0, failed: 0 });
    signals.started('model.shop.customers', 't0');
    signals.dropDelayedStarts();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(fake.calls).toEqual([]);
  });
});

describe('ConsumerSignals: concurrency', () => {
  it('never has more signals in flight than the limit, and delivers them all', async () => {
    const fake = new FakeClient();
    const gates: Array<() => void> = [];
    fake.behaviour = () =>
      new Promise<void>((resolve) => {
        gates.push(resolve);
      });
    const signals = new ConsumerSignals(fake.client, BUILD, { concurrency: 3 });
    for (let i = 0; i < 10; i++) signals.report(report(`model.shop.m${i}`));
    for (let i = 0; i < 4; i++) signals.started(`model.shop.s${i}`, 't');
    await flush();
    expect(fake.inFlight).toBe(3);
    // release one at a time
    while (fake.calls.length < 14 || fake.inFlight > 0) {
      expect(fake.inFlight).toBeLessThanOrEqual(3);
      gates.shift()?.();
      await flush();
    }
    const stats = await signals.drain();
    expect(fake.maxInFlight).toBe(3);
    expect(stats.delivered).toBe(10);
    expect(new Set(fake.calls.map((c) => c.workflowId)).size).toBe(14);
  });

  it('serves consumers in the order they were queued', async () => {
    const fake = new FakeClient();
    const signals = new ConsumerSignals(fake.client, BUILD, { concurrency: 1 });
    for (const id of ['c', 'a', 'b']) signals.report(report(`model.shop.${id}`));
    await signals.drain();
    expect(fake.calls.map((c) => c.workflowId)).toEqual(['watcher/b1/model.shop.c', 'watcher/b1/model.shop.a', 'watcher/b1/model.shop.b']);
  });
});

describe('ConsumerSignals: failures', () => {
  it('counts a closed consumer (signal not found, but it exists) as notFound without retrying', async () => {
    const fake = new FakeClient();
    fake.existing.add(`watcher/${BUILD}/model.shop.gone`).add(`watcher/${BUILD}/model.shop.gone_too`);
    fake.behaviour = (call) => Promise.reject(new WorkflowNotFoundError('workflow not found', call.workflowId, undefined));
    const onError = vi.fn();
    const onDelivered = vi.fn();
    const signals = new ConsumerSignals(fake.client, BUILD, { onError, onDelivered });
    signals.report(report('model.shop.gone'));
    signals.started('model.shop.gone_too', 't');
    const stats = await signals.drain();
    expect(stats).toEqual({ delivered: 0, notFound: 1, failed: 0 });
    expect(fake.calls).toHaveLength(2);
    expect(onError).not.toHaveBeenCalled();
    expect(onDelivered).not.toHaveBeenCalled();
  });

  it('keeps signaling a consumer its group has not started yet, and delivers once it has', async () => {
    const fake = new FakeClient();
    const id = `watcher/${BUILD}/model.shop.late`;
    fake.behaviour = (call, attempt) => (attempt < 3 ? Promise.reject(new WorkflowNotFoundError('not found', call.workflowId, undefined)) : Promise.resolve());
    const signals = new ConsumerSignals(fake.client, BUILD, {});
    signals.report(report('model.shop.late'));
    const stats = await signals.drain();
    expect(fake.calls.filter((c) => c.workflowId === id)).toHaveLength(3);
    expect(fake.describes).toBe(2); // asked each time whether it exists yet
    expect(stats).toEqual({ delivered: 1, notFound: 0, failed: 0 });
  });

  it('signals again at once a consumer that started between the signal and the look', async () => {
    const fake = new FakeClient();
    const id = `watcher/${BUILD}/model.shop.just_started`;
    fake.existing.add(id);
    fake.running.add(id);
    fake.behaviour = (call, attempt) => (attempt === 1 ? Promise.reject(new WorkflowNotFoundError('not found', call.workflowId, undefined)) : Promise.resolve());
    const signals = new ConsumerSignals(fake.client, BUILD, {});
    signals.report(report('model.shop.just_started'));
    const stats = await signals.drain();
    expect(fake.calls.filter((c) => c.workflowId === id)).toHaveLength(2);
    expect(stats).toEqual({ delivered: 1, notFound: 0, failed: 0 });
  });

  it('retries a transient error and then delivers', async () => {
    const fake = new FakeClient();
    fake.behaviour = (_call, attempt) => (attempt === 1 ? Promise.reject(new Error('14 UNAVAILABLE: connection refused')) : Promise.resolve());
    const onError = vi.fn();
    const signals = new ConsumerSignals(fake.client, BUILD, { onError });
    signals.report(report('model.shop.orders'));
    const stats = await signals.drain();
    expect(fake.callsFor('model.shop.orders')).toEqual(['nodeReport', 'nodeReport']);
    expect(stats).toEqual({ delivered: 1, notFound: 0, failed: 0 });
    expect(onError).not.toHaveBeenCalled();
  });

  it('gives up after giveUpAfterMs: counted as failed, onError called', async () => {
    const fake = new FakeClient();
    const err = new Error('14 UNAVAILABLE');
    fake.behaviour = () => Promise.reject(err);
    const onError = vi.fn();
    const signals = new ConsumerSignals(fake.client, BUILD, { giveUpAfterMs: 10, onError });
    signals.report(report('model.shop.orders'));
    const stats = await signals.drain();
    expect(stats).toEqual({ delivered: 0, notFound: 0, failed: 1 });
    expect(onError).toHaveBeenCalledTimes(1);
    expect(onError).toHaveBeenCalledWith('model.shop.orders', err);
  });

  it('calls onError for a start it gives up on, without counting a failed report', async () => {
    const fake = new FakeClient();
    fake.behaviour = () => Promise.reject(new Error('down'));
    const onError = vi.fn();
    const signals = new ConsumerSignals(fake.client, BUILD, { giveUpAfterMs: 10, onError });
    signals.started('model.shop.orders', 't');
    expect(await signals.drain()).toEqual({ delivered: 0, notFound: 0, failed: 0 });
    expect(onError).toHaveBeenCalledWith('model.shop.orders', expect.any(Error));
  });

  it('backs off exponentially while retrying, up to the deadline', async () => {
    vi.useFakeTimers();
    const fake = new FakeClient();
    const attemptsAt: number[] = [];
    const start = Date.now();
    fake.behaviour = () => {
      attemptsAt.push(Date.now() - start);
      return Promise.reject(new Error('unavailable'));
    };
    const onError = vi.fn();
    const signals = new ConsumerSignals(fake.client, BUILD, { giveUpAfterMs: 1_000, onError });
    signals.report(report('model.shop.orders'));
    const drained = signals.drain();
    await vi.advanceTimersByTimeAsync(5_000);
    const stats = await drained;
    // 0, +100, +200, +400; the next wait (800 ms) would pass the 1 s deadline
    expect(attemptsAt).toEqual([0, 100, 300, 700]);
    expect(stats.failed).toBe(1);
    expect(onError).toHaveBeenCalledTimes(1);
  });

  it('keeps other consumers flowing while one is retrying', async () => {
    const fake = new FakeClient();
    fake.behaviour = (call, attempt) => (call.workflowId.endsWith('flaky') && attempt === 1 ? Promise.reject(new Error('blip')) : Promise.resolve());
    const signals = new ConsumerSignals(fake.client, BUILD, { concurrency: 2 });
    signals.report(report('model.shop.flaky'));
    for (let i = 0; i < 5; i++) signals.report(report(`model.shop.ok${i}`));
    const stats = await signals.drain();
    expect(stats.delivered).toBe(6);
    // every healthy consumer was served before the flaky one's retry
    const flakyCalls = fake.calls.map((c, i) => (c.workflowId.endsWith('flaky') ? i : -1)).filter((i) => i >= 0);
    expect(flakyCalls).toEqual([0, 6]);
  });
});
